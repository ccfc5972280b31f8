"""`inv publish-event` and `inv redrive`: the stage's topic, queue and dead-letter queue."""
import json
import random
import sys
import time
from dataclasses import dataclass

from ops import aws
from ops.events import sample_event

BATCH = 10  # the most SNS PublishBatch and SQS SendMessageBatch take in one call


class Progress:
    """A one-line text progress bar on a stream (stderr by default); plain lines when it is not a terminal."""

    def __init__(self, total, label, stream=None, width=30):
        stream = stream or sys.stderr
        self.total, self.label, self.stream, self.width = total, label, stream, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._last_line = -1

    def update(self, done):
        filled = int(self.width * done / self.total) if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        text = f"{self.label} [{bar}] {done}/{self.total}"
        if self.tty:
            self.stream.write("\r" + text)
            if done >= self.total:
                self.stream.write("\n")
        else:
            # Non-terminals (CI logs): a line per 10 %, not per call.
            step = done * 10 // self.total if self.total else 10
            if step != self._last_line:
                self._last_line = step
                self.stream.write(text + "\n")
        self.stream.flush()
        self._done = done

    def finish(self):
        """End the bar's line on a terminal when it stopped short of the total."""
        if self.tty and getattr(self, "_done", self.total) < self.total:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class PublishSummary:
    published: int
    failed: int
    calls: int
    seconds: float


def publish_events(session, topic_arn, count, event_type=None, seed=None, err=None):
    """Publish `count` sample events to the topic, BATCH per PublishBatch call."""
    err = err or sys.stderr
    client = session.client("sns")
    rng = random.Random(seed)
    progress = Progress(count, "publishing", stream=err)
    published = failed = calls = 0
    started = time.monotonic()
    with aws.errors(f"Publishing to {topic_arn}"):
        while published + failed < count:
            size = min(BATCH, count - published - failed)
            events = [sample_event(event_type, rng) for _ in range(size)]
            response = client.publish_batch(
                TopicArn=topic_arn,
                PublishBatchRequestEntries=[
                    {"Id": str(i), "Message": json.dumps(event, separators=(",", ":"))} for i, event in enumerate(events)
                ],
            )
            calls += 1
            published += len(response.get("Successful", []))
            for failure in response.get("Failed", []):
                failed += 1
                err.write(f"\nfailed: {failure.get('Code')}: {failure.get('Message', '')}\n")
            progress.update(published + failed)
    return PublishSummary(published, failed, calls, time.monotonic() - started)


@dataclass
class RedriveSummary:
    moved: int
    failed: int
    left_in_dlq: int


def approximate_count(client, queue_url):
    attributes = client.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0)), int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))


def redrive(session, dlq_url, queue_url, limit=None, wait_seconds=1, err=None):
    """Move messages from the DLQ to the queue: receive, send (same body and attributes), delete what was sent.

    A message whose send failed stays in the DLQ (it reappears after its visibility timeout).
    Stops when a receive comes back empty or after `limit` messages.
    """
    err = err or sys.stderr
    client = session.client("sqs")
    moved = failed = 0
    with aws.errors("Redriving the dead-letter queue"):
        waiting, _ = approximate_count(client, dlq_url)
        progress = Progress(max(waiting, 1) if limit is None else min(max(waiting, 1), limit), "redriving", stream=err)
        while limit is None or moved + failed < limit:
            want = BATCH if limit is None else min(BATCH, limit - moved - failed)
            messages = client.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=want,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=120,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            entries = []
            for i, message in enumerate(messages):
                entry = {"Id": str(i), "MessageBody": message["Body"]}
                if message.get("MessageAttributes"):
                    entry["MessageAttributes"] = message["MessageAttributes"]
                entries.append(entry)
            sent = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
            ok = {entry["Id"] for entry in sent.get("Successful", [])}
            for failure in sent.get("Failed", []):
                err.write(f"\nnot moved: {failure.get('Code')}: {failure.get('Message', '')}\n")
            done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in ok]
            if done:
                client.delete_message_batch(QueueUrl=dlq_url, Entries=done)
            moved += len(done)
            failed += len(messages) - len(done)
            progress.total = max(progress.total, moved + failed)
            progress.update(moved + failed)
        progress.finish()
        left, _ = approximate_count(client, dlq_url)
    return RedriveSummary(moved, failed, left)
