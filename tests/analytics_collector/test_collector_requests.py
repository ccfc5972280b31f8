"""POST /v1/events through the handler's logic, with moto SNS delivering to SQS."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from analytics_collector.collect import handle
from collector_fixtures import SCHEMA, WRITE_KEY, event, keyring, post, queued_events, settings, sns_publisher

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)


def send(aws, request, **overrides):
    sns, sqs, topic_arn, queue_url = aws
    response = handle(request, settings(topic_arn, **overrides), keyring(), sns_publisher(sns, topic_arn), SCHEMA, now=lambda: NOW)
    return response, queued_events(sqs, queue_url)


# ----------------------------------------------------------------- accepted ---


def test_one_event_is_published_with_the_collectors_facts(aws):
    # GIVEN one valid event
    sent = event()
    # WHEN it is posted with the app's key
    response, queued = send(aws, post(sent))
    # THEN 202, and the topic got it unchanged plus received_at and the key's app under "collector"
    assert response.status == 202 and response.body == {"accepted": 1}
    assert len(queued) == 1
    stored = queued[0]
    assert {k: stored[k] for k in sent} == sent
    assert stored["collector"] == {"received_at": "2026-11-29T12:00:00.000Z", "app": "shop-web"}


def test_an_array_of_500_events_is_published_every_one_once(aws):
    # GIVEN 500 events, the most one request may carry
    sent = [event() for _ in range(500)]
    # WHEN posted
    response, queued = send(aws, post(sent))
    # THEN 202 and the queue holds each event_id once
    assert response.status == 202 and response.body == {"accepted": 500}
    assert sorted(e["event_id"] for e in queued) == sorted(e["event_id"] for e in sent)


def test_gzip_body_and_key_in_the_query_as_sendbeacon_sends_it(aws):
    # GIVEN a gzipped array and the key as ?key= (sendBeacon cannot set headers)
    sent = [event(), event()]
    request = post(sent, key=None, query={"key": WRITE_KEY}, gzipped=True)
    # WHEN posted
    response, queued = send(aws, request)
    # THEN both are published
    assert response.status == 202
    assert {e["event_id"] for e in queued} == {e["event_id"] for e in sent}


def test_invalid_events_are_still_published_for_the_worker_to_reject_with_a_reason(aws):
    # GIVEN an event without event_type and a string in the array
    sent = [{"event_id": "x1", "event_timestamp": "2026-11-29T10:00:00Z"}, "not an event"]
    # WHEN posted without strict validation
    response, queued = send(aws, post(sent))
    # THEN 202: both reach the topic (the worker writes them to rejected_events)
    assert response.status == 202
    assert len(queued) == 2 and "not an event" in queued


# ------------------------------------------------------------- bad requests ---


@pytest.mark.parametrize(
    "request_, status, words",
    [
        (post([event()], key="wrong-key-000000"), 401, "Unknown write key"),
        (post([event()], key=None), 401, "Missing write key"),
        (post(b"x" * (256 * 1024 + 1)), 413, "at most 262144"),
        (post(b"{not json"), 400, "not JSON"),
        (post(b'{"event_id": "a", "n": NaN}'), 400, "NaN is not a JSON value"),
        (post([event() for _ in range(501)]), 400, "Too many events: 501"),
        (post(b"42"), 400, "one event (a JSON object) or a JSON array"),
        (post(b"[]"), 400, "no events"),
        (post(b"not gzip", headers={"content-encoding": "gzip"}), 400, "not gzip"),
        (post([event()], query={"sent_at": "yesterday"}), 400, "sent_at"),
        (post([event()], path="/v2/things"), 404, "POST /v1/events"),
    ],
    ids=["wrong key", "no key", "too large", "not json", "NaN", "too many", "not an event", "empty", "bad gzip", "bad sent_at", "path"],
)
def test_bad_requests_get_a_4xx_with_a_json_reason_and_nothing_is_published(aws, request_, status, words):
    # GIVEN a bad request  WHEN it is sent
    response, queued = send(aws, request_)
    # THEN the status says what kind, the JSON body says what was wrong, and nothing reached the topic
    assert response.status == status
    assert words in response.body["error"]
    assert json.loads(response.as_lambda()["body"])["error"] == response.body["error"]
    assert queued == []


def test_a_gzip_bomb_is_refused_as_too_large(aws):
    # GIVEN 300 KiB of JSON that gzips to a few hundred bytes
    request = post(json.dumps([event(pad="a" * 300_000)]).encode(), gzipped=True)
    assert len(request.body) < 2_000
    # WHEN posted  THEN 413: the unpacked size counts
    response, queued = send(aws, request)
    assert response.status == 413 and "unpacks to more than" in response.body["error"]
    assert queued == []


def test_strict_validation_lists_the_invalid_events_by_index_and_publishes_none(aws):
    # GIVEN three events of which #1 has no event_type and #2 a date that does not exist
    sent = [event(), {"event_id": "b", "event_timestamp": "2026-11-29T10:00:00Z"}, event(event_timestamp="2026-02-30T10:00:00Z")]
    # WHEN posted with ?validate=strict
    response, queued = send(aws, post(sent, query={"validate": "strict"}))
    # THEN 400 naming #1 and #2 with their reasons, and nothing was published
    assert response.status == 400
    assert response.body["invalid"] == [
        {"index": 1, "reason": "missing required field: event_type"},
        {"index": 2, "reason": "event_timestamp '2026-02-30T10:00:00Z' is not a real date and time"},
    ]
    assert queued == []


# ----------------------------------------------------------- clock, privacy ---


def test_a_wrong_device_clock_is_corrected_and_the_original_kept(aws):
    # GIVEN a device whose clock is 2 hours behind: it stamped the event and sent_at with the same error
    device_now = NOW - timedelta(hours=2)
    sent = event(event_timestamp="2026-11-29T09:59:30.000Z")
    request = post([sent], query={"sent_at": device_now.isoformat().replace("+00:00", "Z")})
    # WHEN posted
    response, queued = send(aws, request)
    # THEN event_timestamp is moved by the measured offset; the original and the offset are kept
    assert response.status == 202
    stored = queued[0]
    assert stored["event_timestamp"] == "2026-11-29T11:59:30.000Z"
    assert stored["collector"]["original_event_timestamp"] == "2026-11-29T09:59:30.000Z"
    assert stored["collector"]["clock_offset_ms"] == 2 * 3600 * 1000


def test_a_clock_within_the_tolerance_is_left_alone(aws):
    # GIVEN sent_at 3 seconds before the server's clock (network delay, small drift)
    request = post([event()], query={"sent_at": "2026-11-29T11:59:57Z"})
    # WHEN posted  THEN the timestamp is as sent and only sent_at is recorded
    response, queued = send(aws, request)
    assert queued[0]["event_timestamp"] == "2026-11-29T10:00:00.000Z"
    assert "original_event_timestamp" not in queued[0]["collector"]
    assert queued[0]["collector"]["sent_at"] == "2026-11-29T11:59:57.000Z"


def test_user_agent_and_ip_address_are_added_only_when_configured(aws):
    # GIVEN a request with a user agent from 203.0.113.9
    request = post([event()], headers={"user-agent": "Mozilla/5.0 test"})
    # WHEN the stage keeps the defaults, and WHEN it opts in to both
    _, default = send(aws, request)
    _, opted_in = send(aws, request, add_user_agent=True, add_ip_address=True)
    # THEN neither is stored by default; both are when configured
    assert "user_agent" not in default[0]["collector"] and "ip_address" not in default[0]["collector"]
    assert opted_in[0]["collector"]["user_agent"] == "Mozilla/5.0 test"
    assert opted_in[0]["collector"]["ip_address"] == "203.0.113.9"


def test_a_client_cannot_forge_the_collectors_facts(aws):
    # GIVEN an event that brings its own "collector" object
    response, queued = send(aws, post([event(collector={"app": "someone-else", "received_at": "1999-01-01T00:00:00Z"})]))
    # THEN the server's facts replace it
    assert queued[0]["collector"] == {"received_at": "2026-11-29T12:00:00.000Z", "app": "shop-web"}


# -------------------------------------------------------------------- CORS ---


def test_preflight_from_a_configured_origin_is_allowed(aws):
    # GIVEN an OPTIONS preflight from the configured origin
    request = post(b"", headers={"origin": "https://shop.example.com"})
    request = request.__class__(**{**request.__dict__, "method": "OPTIONS"})
    # WHEN answered
    response, _ = send(aws, request)
    # THEN 204 with the origin echoed and the headers the tracker may send
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_other_origins_get_no_cors_headers_and_a_refused_preflight(aws):
    # GIVEN a page on another site
    preflight = post(b"", headers={"origin": "https://evil.example.net"})
    preflight = preflight.__class__(**{**preflight.__dict__, "method": "OPTIONS"})
    request = post([event()], headers={"origin": "https://evil.example.net"})
    # WHEN it asks, and when it posts anyway
    refused, _ = send(aws, preflight)
    posted, _ = send(aws, request)
    # THEN the preflight is refused and no answer carries Access-Control-Allow-Origin (the browser hides it)
    assert refused.status == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Origin" not in posted.headers


def test_any_origin_when_configured_with_a_star(aws):
    response, _ = send(aws, post([event()], headers={"origin": "https://a.example.org"}), cors_origins=("*",))
    assert response.headers["Access-Control-Allow-Origin"] == "https://a.example.org"
