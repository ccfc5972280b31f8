"""Stream mode: the worker called by an SQS event source mapping with an SQS event."""
import psycopg2
import pytest

from test_worker_handler import call, configured, handler  # noqa: F401 (fixtures)
from worker_samples import event, raw_body, sns_envelope, sqs_event


def test_an_sqs_event_is_stored_like_a_list_and_no_message_is_reported_failed(configured, migrated_db):
    # GIVEN an event already stored, and an SQS event with new events, that event again and two bodies the worker refuses
    stored_before = event()
    call(configured, [raw_body(stored_before)])
    new = [event() for _ in range(3)]
    bodies = [raw_body(new[0]), sns_envelope(new[1]), raw_body(new[2]), raw_body(stored_before), "not json",
              raw_body(event(event_type=None))]
    # WHEN the mapping delivers it
    result = call(configured, sqs_event(bodies))
    # THEN the counts are those of the same list of bodies, and Lambda is told no message failed
    assert result == {"processed": 6, "stored": 3, "duplicates": 1, "rejected": 2, "batchItemFailures": []}
    assert migrated_db.count("events") == 4
    # AND the refused bodies are in rejected_events with their reasons (refused is not failed: nothing to retry)
    reasons = dict(migrated_db.query(f"SELECT raw, reason FROM {migrated_db.schema}.rejected_events"))
    assert reasons["not json"].startswith("message body is not valid JSON")
    assert "event_type" in reasons[bodies[-1]]


def test_an_sqs_event_raises_when_the_database_fails_so_the_whole_batch_comes_back(handler, tmp_path, monkeypatch):
    # GIVEN a worker whose database cannot be reached
    monkeypatch.setenv("DB_URL", f"postgresql://nobody@/postgres?host={tmp_path}")
    monkeypatch.setenv("DB_SCHEMA", "analytics_test")
    # WHEN the mapping delivers a batch THEN the call raises: Lambda acknowledges none of its messages
    with pytest.raises(psycopg2.OperationalError):
        call(handler, sqs_event([raw_body(event()), raw_body(event())]))


def test_a_plain_list_still_gets_the_counts_alone(configured):
    assert call(configured, [raw_body(event()), "junk"]) == {"processed": 2, "stored": 1, "duplicates": 0, "rejected": 1}


@pytest.mark.parametrize("payload, problem", [
    ({"event_id": "12"}, "got a dict without Records"),
    ({"Records": "x"}, "its Records is str, not a list"),
    ({"Records": [{"eventSource": "aws:kinesis", "body": "{}"}]}, "Records[0] is not an SQS record (eventSource 'aws:kinesis')"),
    ({"Records": [{"eventSource": "aws:sqs", "messageId": "m1"}]}, "Records[0] (messageId 'm1') has no string body"),
    ("a string", "got str"),
])
def test_a_payload_of_neither_kind_is_refused_naming_what_was_wrong(configured, migrated_db, payload, problem):
    with pytest.raises(TypeError) as refused:
        call(configured, payload)
    assert problem in str(refused.value)
    assert migrated_db.count("events") == 0 and migrated_db.count("rejected_events") == 0
