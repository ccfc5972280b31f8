"""Sample events (v1, doc/design.md Contracts) for `inv gen-event`, `inv publish-event` and the demo.

`sample_event()` is valid against the event JSON Schema; `invalid_event()` is one that the
worker rejects, with the reason it should give. Pass a `random.Random` for repeatable output.
"""
import datetime
import random
import uuid

EVENT_TYPES = ("user_signed_up", "user_logged_in", "page_viewed", "item_added_to_cart", "order_placed")
APPS = (("shop-web", "2.14.0"), ("shop-ios", "5.3.1"), ("shop-android", "5.3.0"))
PAGES = ("/", "/pricing", "/products", "/checkout", "/account")
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")

# Ways to break an event, each one the worker must reject (name -> what is wrong).
INVALID_KINDS = {
    "missing_event_id": "no event_id",
    "missing_event_type": "no event_type",
    "bad_timestamp": "event_timestamp is not an ISO 8601 date-time",
    "event_id_too_long": "event_id longer than 64 characters",
    "wrong_type": "user_id is a number, not a string",
    "not_an_object": "the event is a JSON list, not an object",
}


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def sample_event(event_type=None, rng=None, now=None, spread_seconds=3600, users=500):
    """One valid v1 event; `event_type` fixes its type (any string of 1..128 characters).

    Its timestamp lies within `spread_seconds` before `now`; its user is one of `users`.
    """
    rng = rng or random.Random()
    now = now or _now()
    app_title, app_version = rng.choice(APPS)
    user_number = rng.randint(1, users)
    timestamp = now - datetime.timedelta(seconds=rng.randint(0, spread_seconds))
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_timestamp": timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event_type": event_type or rng.choice(EVENT_TYPES),
        "event_version": "1",
        "app_title": app_title,
        "app_version": app_version,
        "user_id": f"user-{user_number:04d}",
        "user_name": f"{rng.choice(FIRST_NAMES)} {user_number}",
        "meta": {"page": rng.choice(PAGES), "session": rng.randint(1, 10**6)},
    }


def invalid_event(kind=None, event_type=None, rng=None, now=None):
    """(event, kind): an event the worker rejects; `kind` is one of INVALID_KINDS (random when None)."""
    rng = rng or random.Random()
    kind = kind or rng.choice(sorted(INVALID_KINDS))
    if kind not in INVALID_KINDS:
        raise ValueError(f"unknown invalid kind {kind!r}: choose one of {', '.join(sorted(INVALID_KINDS))}")
    event = sample_event(event_type, rng, now)
    if kind == "missing_event_id":
        del event["event_id"]
    elif kind == "missing_event_type":
        del event["event_type"]
    elif kind == "bad_timestamp":
        event["event_timestamp"] = "yesterday at noon"
    elif kind == "event_id_too_long":
        event["event_id"] = "x" * 65
    elif kind == "wrong_type":
        event["user_id"] = 12345
    elif kind == "not_an_object":
        event = [event]
    return event, kind


# How often each type occurs in the demo's traffic (page views dominate, orders are rare).
DEMO_TYPE_WEIGHTS = {"page_viewed": 50, "user_logged_in": 20, "item_added_to_cart": 15, "user_signed_up": 8, "order_placed": 7}


def demo_events(count, rng=None, now=None, days=7, users=80):
    """`count` valid events as a small product's traffic: several apps and users, weighted types, over `days`."""
    rng = rng or random.Random()
    now = now or _now()
    types, weights = zip(*DEMO_TYPE_WEIGHTS.items())
    return [
        sample_event(rng.choices(types, weights)[0], rng, now, spread_seconds=days * 86400, users=users)
        for _ in range(count)
    ]
