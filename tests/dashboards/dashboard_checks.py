"""Helpers of the dashboard tests: the stage roles on a test database, events to store, and a full recount.

Test modules import what they use from here (not a conftest.py: see tests/analytics_consumer)."""
import datetime
import uuid

import pytest

from ops.local_stack import roles
from ops.stage import with_credentials

PASSWORDS = {"writer": "writer-secret-1", "reader": "reader-secret-1"}


@pytest.fixture
def stage_db(migrated_db):
    """The migrated test database with the writer and reader roles of its schema, as Terraform makes them."""
    roles.prepare(migrated_db.url, migrated_db.schema, PASSWORDS)
    roles.grant_existing(migrated_db.url, migrated_db.schema)
    return migrated_db


def role_url(db, role):
    """URL of the test database as `role` (socket trust on the embedded server; the password for TCP servers)."""
    return with_credentials(db.url, PASSWORDS[role], user=roles.role_name(db.schema, role))


def make_events(rng, count, days=10, users=40, start=datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)):
    """Events spread over `days`, some without user or app, timestamps in several offsets (half hours too)."""
    offsets = [datetime.timedelta(0), datetime.timedelta(hours=5, minutes=30), datetime.timedelta(hours=-7)]
    events = []
    for _ in range(count):
        instant = start + datetime.timedelta(seconds=rng.randint(0, days * 86400 - 1))
        zone = datetime.timezone(rng.choice(offsets))
        event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_timestamp": instant.astimezone(zone).isoformat(),
            "event_type": rng.choice(["page_viewed", "user_logged_in", "order_placed", "x" * 128]),
        }
        if rng.random() < 0.9:
            event["user_id"] = f"user-{rng.randint(1, users)}"
        if rng.random() < 0.8:
            event["app_title"] = rng.choice(["shop-web", "shop-ios", ""])
        events.append(event)
    return events


def rollups(db):
    """What the dashboard views answer (as sorted lists)."""
    s = db.schema
    return {
        "counts": sorted(db.query(f"SELECT day, event_type, app_title, events FROM {s}.daily_app_event_counts"), key=repr),
        "type_counts": sorted(db.query(f"SELECT day, event_type, events FROM {s}.daily_event_counts"), key=repr),
        "active_users": sorted(db.query(f"SELECT day, active_users FROM {s}.daily_active_users")),
        "rejections": sorted(db.query(f"SELECT day, reason, rejected FROM {s}.daily_rejections")),
    }


def recount(db):
    """The same figures counted from events and rejected_events, in the rollups' time zone."""
    s = db.schema
    (zone,) = db.query(f"SELECT time_zone FROM {s}.rollup_settings")[0]
    day = "(event_timestamp AT TIME ZONE %(zone)s)::date"
    params = {"zone": zone}
    return {
        "counts": sorted(
            db.query(f"SELECT {day}, event_type, app_title, count(*) FROM {s}.events GROUP BY 1, 2, 3", params), key=repr
        ),
        "type_counts": sorted(db.query(f"SELECT {day}, event_type, count(*) FROM {s}.events GROUP BY 1, 2", params), key=repr),
        "active_users": sorted(
            db.query(f"SELECT {day}, count(DISTINCT user_id) FROM {s}.events WHERE user_id IS NOT NULL GROUP BY 1", params)
        ),
        "rejections": sorted(
            db.query(
                f"SELECT (received_at AT TIME ZONE %(zone)s)::date, reason, count(*) FROM {s}.rejected_events GROUP BY 1, 2",
                params,
            )
        ),
    }


def assert_rollups_exact(db):
    got, expected = rollups(db), recount(db)
    for name in expected:
        assert got[name] == expected[name], f"{name}: the rollup differs from a full recount"
    return got


def shuffled(rng, items):
    items = list(items)
    rng.shuffle(items)
    return items
