"""The kinds of input one worker call accepts, and the answer each kind gets.

Two kinds: a JSON list of items (what the scheduled consumer and the operator send),
or an SQS event that an event source mapping delivers in stream mode,
{"Records": [{"messageId", "body", "eventSource": "aws:sqs", ...}, ...]}, whose
bodies are the items. Both go through the same store path with the same counts.
"""
from dataclasses import dataclass

SQS_EVENT_SOURCE = "aws:sqs"
EXPECTED = 'a JSON list of events or message bodies, or an SQS event {"Records": [...]}'


@dataclass(frozen=True, slots=True)
class Payload:
    items: list
    from_sqs: bool


def read_payload(event):
    """The items of one call, and whether they came as an SQS event; raises TypeError naming what was wrong."""
    if isinstance(event, list):
        return Payload(event, from_sqs=False)
    if isinstance(event, dict) and "Records" in event:
        return Payload(_sqs_bodies(event["Records"]), from_sqs=True)
    got = "a dict without Records" if isinstance(event, dict) else type(event).__name__
    raise TypeError(f"analytics_worker expects {EXPECTED}, got {got}")


def answer(payload, counts):
    """The call's answer: the counts, and for an SQS event the partial-batch response Lambda reads.

    The batch is stored in one transaction, so when this answer is given every message was
    handled: stored, a duplicate, or rejected with a reason (a body the worker refuses is
    not a failure; it is in rejected_events). batchItemFailures is therefore empty. When the
    database fails the call raises instead, and Lambda makes every message of the batch
    visible again after the visibility timeout: nothing is acknowledged, nothing lost.
    """
    if payload.from_sqs:
        return {**counts, "batchItemFailures": []}
    return counts


def _sqs_bodies(records):
    if not isinstance(records, list):
        raise TypeError(f"analytics_worker expects {EXPECTED}; its Records is {type(records).__name__}, not a list")
    bodies = []
    for position, record in enumerate(records):
        if not isinstance(record, dict) or record.get("eventSource") != SQS_EVENT_SOURCE:
            source = record.get("eventSource") if isinstance(record, dict) else type(record).__name__
            raise TypeError(f"analytics_worker: Records[{position}] is not an SQS record (eventSource {source!r})")
        if not isinstance(record.get("body"), str):
            raise TypeError(f"analytics_worker: Records[{position}] (messageId {record.get('messageId')!r}) has no string body")
        bodies.append(record["body"])
    return bodies
