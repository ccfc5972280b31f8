"""Publishing message bodies to the topic with PublishBatch, checking every entry."""
import time
from dataclasses import dataclass, field

from analytics_collector.settings import SNS_BATCH_ENTRIES, SNS_PAYLOAD_LIMIT

# PublishBatch counts the whole request (message bodies and attributes) against 256 KiB;
# leave room for the entry ids and the request's own framing.
_CALL_BUDGET = SNS_PAYLOAD_LIMIT - 4_096


@dataclass
class PublishResult:
    published: int = 0
    failed: list = field(default_factory=list)  # (index, code, message) of bodies SNS did not accept
    calls: int = 0

    @property
    def ok(self):
        return not self.failed


def chunks(bodies, indexes):
    """Groups of at most 10 bodies whose bytes together fit in one PublishBatch call."""
    group, size = [], 0
    for index in indexes:
        length = len(bodies[index].encode())
        if group and (len(group) == SNS_BATCH_ENTRIES or size + length > _CALL_BUDGET):
            yield group
            group, size = [], 0
        group.append(index)
        size += length
    if group:
        yield group


def publish_batch(sns, topic_arn, bodies, attempts=3, pause=time.sleep, backoff_seconds=0.05):
    """Publish every body; retry the entries SNS failed (or a call that raised) up to `attempts` times in all.

    Returns a PublishResult: `ok` only when SNS accepted every body. The caller answers 202 only then.
    """
    result = PublishResult()
    pending = list(range(len(bodies)))
    last_error = {}
    for attempt in range(attempts):
        if attempt:
            pause(backoff_seconds * 2 ** (attempt - 1))
        retry = []
        for group in chunks(bodies, pending):
            entries = [{"Id": str(index), "Message": bodies[index]} for index in group]
            result.calls += 1
            try:
                response = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
            except Exception as error:  # throttled, network, 5xx: the whole group is retried
                for index in group:
                    last_error[index] = (type(error).__name__, str(error)[:200])
                retry += group
                continue
            accepted = {entry["Id"] for entry in response.get("Successful", [])}
            for failure in response.get("Failed", []):
                last_error[int(failure["Id"])] = (failure.get("Code", "?"), failure.get("Message", "")[:200])
            for index in group:
                if str(index) in accepted:
                    result.published += 1
                else:
                    last_error.setdefault(index, ("NotAcknowledged", "SNS answered neither success nor failure"))
                    retry.append(index)
        pending = retry
        if not pending:
            break
    result.failed = [(index, *last_error[index]) for index in sorted(pending)]
    return result
