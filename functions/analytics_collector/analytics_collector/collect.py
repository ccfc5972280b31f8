"""POST /v1/events: check the request, add what only the server knows, publish, answer.

`handle` knows nothing of Lambda: it takes the request, the settings and its collaborators
(the key ring, a publish function, a clock), so tests and the local server call it directly.
"""
import json
import zlib
from datetime import datetime, timezone

from analytics_collector.http import Response
from analytics_collector.keys import key_of_request
from analytics_collector.schema import event_problem
from analytics_collector.settings import SNS_PAYLOAD_LIMIT

PATH = "/v1/events"
ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Content-Encoding"
PREFLIGHT_MAX_AGE_SECONDS = "86400"
RETRY_AFTER_SECONDS = "1"
SERVER_KEY = "collector"  # the top-level key of what the collector adds (the worker keeps it in `extra`)


class Refusal(Exception):
    """A request answered with an error status and a JSON reason: 4xx for the client's fault, 503 for ours."""

    def __init__(self, status, error, **details):
        super().__init__(error)
        self.status, self.error, self.details = status, error, details


def _now():
    return datetime.now(timezone.utc)


def iso(moment):
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text):
    """An ISO 8601 date-time as an aware datetime (no zone means UTC), or None."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def cors_headers(settings, request):
    origin = request.headers.get("origin")
    if not settings.allows_origin(origin):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "Retry-After", "Vary": "Origin"}


def handle(request, settings, keys, publish, schema, now=_now, log=None):
    """Answer one HTTP request; `publish(bodies)` returns a PublishResult."""
    cors = cors_headers(settings, request)
    try:
        response = _route(request, settings, keys, publish, schema, now, cors, log)
    except Refusal as bad:
        response = Response(bad.status, {"error": bad.error, **bad.details})
        if log:
            log("ERROR" if bad.status >= 500 else "INFO", "request refused", status=bad.status, error=bad.error)
    retry = {"Retry-After": RETRY_AFTER_SECONDS} if response.status >= 500 else {}  # every 5xx: the client may retry
    return Response(response.status, response.body, {**response.headers, **retry, **cors})


def _route(request, settings, keys, publish, schema, now, cors, log):
    if request.path.rstrip("/") != PATH:
        raise Refusal(404, f"Not found: events are sent with POST {PATH}.")
    if request.method == "OPTIONS":
        if not cors:
            raise Refusal(403, "This origin may not send events here: add it to the stage's CORS origins.")
        return Response(204, None, {
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_SECONDS,
        })
    if request.method != "POST":
        raise Refusal(405, f"Method {request.method} is not allowed: use POST {PATH}.")
    received_at = now()
    app = _app(request, keys)
    events = _events(request, settings)
    sent_at = _sent_at(request)
    if request.query.get("validate") == "strict":
        invalid = [{"index": i, "reason": problem} for i, e in enumerate(events) if (problem := event_problem(e, schema))]
        if invalid:
            raise Refusal(
                400, f"{len(invalid)} of {len(events)} events break the v1 event schema; none was accepted.", invalid=invalid
            )
    bodies = [json.dumps(_enrich(e, app, request, settings, received_at, sent_at), separators=(",", ":"))
              for e in events]
    too_large = [i for i, body in enumerate(bodies) if len(body.encode()) > SNS_PAYLOAD_LIMIT]
    if too_large:
        raise Refusal(413, f"Events {too_large[:10]} are larger than an SNS message may be (256 KiB).")
    result = publish(bodies)
    if not result.ok:
        if log:
            log("ERROR", "SNS did not accept every event", published=result.published, failed=len(result.failed),
                first_failure=list(result.failed[0][1:]), calls=result.calls)
        return Response(503, {
            "error": "The events could not all be stored for processing; send the same request again (duplicates are dropped).",
            "published": result.published, "failed": len(result.failed),
        })
    return Response(202, {"accepted": len(bodies)})


def _app(request, keys):
    key = key_of_request(request.headers, request.query)
    if key is None:
        raise Refusal(401, "Missing write key: send Authorization: Basic base64(<write key>:) or ?key=<write key>.")
    try:
        app = keys.app_for(key)
    except Exception as error:  # the key store cannot be read: a server problem, so the client retries
        raise Refusal(503, "The write keys cannot be read right now; send the same request again.",
                         cause=type(error).__name__) from None
    if app is None:
        raise Refusal(401, "Unknown write key: check the key the page or app was given for this stage.")
    return app


def _body(request, settings):
    limit = settings.max_body_bytes
    if len(request.body) > limit:
        raise Refusal(413, f"The body has {len(request.body)} bytes; at most {limit} are accepted.", limit_bytes=limit)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return request.body
    if encoding != "gzip":
        raise Refusal(415, f"Content-Encoding {encoding!r} is not supported: send gzip or nothing.")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        text = inflater.decompress(request.body, limit + 1)
    except zlib.error:
        raise Refusal(400, "The body says Content-Encoding: gzip but is not gzip data.") from None
    if len(text) > limit or inflater.unconsumed_tail:
        raise Refusal(413, f"The body unpacks to more than {limit} bytes, the most that is accepted.", limit_bytes=limit)
    if not inflater.eof:
        raise Refusal(400, "The gzip body is cut short.")
    return text


def _events(request, settings):
    body = _body(request, settings)
    try:
        document = json.loads(body, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as error:
        raise Refusal(400, f"The body is not JSON: {str(error)[:120]}.") from None
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        raise Refusal(400, "The body must be one event (a JSON object) or a JSON array of events.")
    if not document:
        raise Refusal(400, "The array holds no events.")
    if len(document) > settings.max_events:
        raise Refusal(
            400, f"Too many events: {len(document)} in one request; at most {settings.max_events} are accepted.",
            limit_events=settings.max_events,
        )
    return document


def _not_json(constant):
    raise ValueError(f"{constant} is not a JSON value")


def _sent_at(request):
    raw = request.query.get("sent_at")
    if raw is None:
        return None
    moment = parse_instant(raw)
    if moment is None:
        raise Refusal(400, f"sent_at {raw[:40]!r} is not an ISO 8601 date and time such as 2026-11-28T18:23:25.000Z.")
    return moment


def _enrich(event, app, request, settings, received_at, sent_at):
    """The event with the collector's facts under SERVER_KEY; its timestamp corrected for a wrong device clock.

    A device whose clock is off by more than the tolerance stamped its events and its `sent_at`
    with the same error; received_at - sent_at measures it (plus the network delay). The
    original timestamp stays in collector.original_event_timestamp.
    """
    if not isinstance(event, dict):
        return event  # the worker rejects it with a reason, like any other producer's garbage
    facts = {"received_at": iso(received_at), "app": app}
    if sent_at is not None:
        facts["sent_at"] = iso(sent_at)
        offset = received_at - sent_at
        stamped = parse_instant(event.get("event_timestamp"))
        if stamped is not None and abs(offset.total_seconds()) > settings.clock_skew_tolerance_seconds:
            try:
                corrected = iso(stamped + offset)
            except OverflowError:
                corrected = None
            if corrected is not None:
                facts["original_event_timestamp"] = event["event_timestamp"]
                facts["clock_offset_ms"] = round(offset.total_seconds() * 1000)
                event = {**event, "event_timestamp": corrected}
    if settings.add_user_agent and request.user_agent:
        facts["user_agent"] = request.user_agent[:512]
    if settings.add_ip_address and request.source_ip:
        facts["ip_address"] = request.source_ip
    return {**event, SERVER_KEY: facts}
