"""PublishBatch: chunks of 10 within 256 KiB, every entry checked, failed entries retried, 202 only when all got in.

moto never fails an entry, so a thin wrapper around the moto client injects SNS's partial failures.
"""
import json

from botocore.exceptions import ClientError

from analytics_collector.collect import handle
from analytics_collector.publish import chunks, publish_batch
from collector_fixtures import SCHEMA, event, keyring, post, queued_events, settings


class FlakySNS:
    """The moto client, but the entries `fail(call, id)` picks come back in `Failed`; `raise_on` calls raise."""

    def __init__(self, sns, fail=lambda call, entry_id: False, raise_on=()):
        self.sns, self.fail, self.raise_on = sns, fail, set(raise_on)
        self.calls = []

    def publish_batch(self, TopicArn, PublishBatchRequestEntries):
        number = len(self.calls)
        self.calls.append([entry["Id"] for entry in PublishBatchRequestEntries])
        if number in self.raise_on:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PublishBatch")
        failing = [e for e in PublishBatchRequestEntries if self.fail(number, e["Id"])]
        passing = [e for e in PublishBatchRequestEntries if not self.fail(number, e["Id"])]
        response = self.sns.publish_batch(TopicArn=TopicArn, PublishBatchRequestEntries=passing) if passing else {}
        return {
            "Successful": response.get("Successful", []),
            "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False, "Message": "try again"} for e in failing],
        }


def test_entries_sns_failed_are_retried_and_then_every_event_is_in_the_queue_once(aws):
    # GIVEN SNS failing entries 3 and 17 in the first round, and throwing on the second call
    sns, sqs, topic_arn, queue_url = aws
    flaky = FlakySNS(sns, fail=lambda call, entry_id: call < 3 and entry_id in ("3", "17"), raise_on=[1])
    bodies = [json.dumps(event()) for _ in range(25)]
    # WHEN published
    result = publish_batch(flaky, topic_arn, bodies, attempts=3, pause=lambda s: None)
    # THEN every body got in, each exactly once, after one more round for the failed ones
    assert result.ok and result.published == 25
    assert sorted(json.dumps(e) for e in queued_events(sqs, queue_url)) == sorted(bodies)
    assert [len(ids) for ids in flaky.calls[:3]] == [10, 10, 5]
    # the second round resent exactly entry 3 and the ten of the call that raised (17 among them)
    assert sorted(flaky.calls[3] + flaky.calls[4], key=int) == ["3", *map(str, range(10, 20))]


def test_when_sns_keeps_failing_the_client_gets_503_and_retry_after_not_202(aws):
    # GIVEN SNS failing entry 0 of every call
    sns, sqs, topic_arn, queue_url = aws
    flaky = FlakySNS(sns, fail=lambda call, entry_id: entry_id == "0")
    logged = []
    publish = lambda bodies: publish_batch(flaky, topic_arn, bodies, attempts=3, pause=lambda s: None)
    # WHEN a request of 4 events is handled
    response = handle(post([event() for _ in range(4)]), settings(topic_arn), keyring(), publish, SCHEMA,
                      log=lambda level, message, **fields: logged.append((level, message, fields)))
    # THEN 503 with Retry-After and the counts; the entry was tried 3 times in all; the failure is logged
    assert response.status == 503 and response.headers["Retry-After"] == "1"
    assert response.body["published"] == 3 and response.body["failed"] == 1
    assert sum(ids.count("0") for ids in flaky.calls) == 3
    assert logged[0][0] == "ERROR" and logged[0][2]["first_failure"][0] == "InternalError"
    # AND the client's retry of the whole request leaves one copy of each event id per success (the worker drops repeats)
    assert len(queued_events(sqs, queue_url)) == 3


def test_chunks_hold_at_most_10_bodies_and_stay_under_the_256_kib_call_limit():
    # GIVEN 30 bodies of 60 KB
    bodies = ["x" * 60_000] * 30
    # WHEN chunked
    groups = list(chunks(bodies, range(30)))
    # THEN at most 4 fit in one call (240 KB), and all are there once
    assert max(len(g) for g in groups) == 4
    assert sorted(i for g in groups for i in g) == list(range(30))
    assert list(chunks(["{}"] * 25, range(25)))[0] == list(range(10))
