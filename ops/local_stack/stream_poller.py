"""Stream mode on the local stack: what Lambda's SQS event source mapping does, in a thread of this process.

The poller gathers messages from the queue until it holds `batch_size` of them or
`batching_window_seconds` have passed since the first one arrived (the meaning of the
Terraform inputs stream_batch_size / stream_batching_window_seconds), hands them to
the worker as an SQS event, and deletes the messages the worker acknowledged: all of
the batch but those its answer lists in batchItemFailures. When the call raises, or
the answer names a message that is not in the batch (Lambda then fails the whole
batch too), nothing is deleted: the messages come back after the visibility timeout.

Like the mapping, the poller can be disabled (`mapping.set_enabled(False)`): it finishes the batch
in hand and receives nothing until it is enabled again. The consumer's stream guard does that while
the worker cannot store (analytics_consumer/stream_guard.py); `guard_every` runs it here.
"""
import threading
import time
from collections import Counter

from ops.functions import load_handler_module

RECEIVE_MAX = 10  # messages per ReceiveMessage call (SQS's limit)
SUMMARY_KEYS = ("received", "worker_invocations", "stored", "duplicates", "rejected", "deleted", "failed_items", "failed_batches")


class LocalEventSourceMapping:
    """The on/off switch of the poller, with Lambda's state names (what stream_guard.EventSourceMapping reads)."""

    def __init__(self, enabled=True):
        self._enabled = threading.Event()
        if enabled:
            self._enabled.set()

    def state(self):
        return "Enabled" if self._enabled.is_set() else "Disabled"

    def set_enabled(self, enabled):
        (self._enabled.set if enabled else self._enabled.clear)()
        return self.state()

    def wait_enabled(self, timeout):
        return self._enabled.wait(timeout)


class StreamPoller:
    def __init__(self, sqs, queue_url, queue_arn, region, handle_event, batch_size, batching_window_seconds, say=print):
        if batch_size < 1:
            raise ValueError(f"stream_batch_size must be at least 1, got {batch_size}")
        if batching_window_seconds < 0:
            raise ValueError(f"stream_batching_window_seconds must be 0 or more, got {batching_window_seconds}")
        self.sqs, self.queue_url, self.queue_arn, self.region = sqs, queue_url, queue_arn, region
        self.handle_event = handle_event  # the worker: an SQS event in, its answer out
        self.batch_size, self.window = int(batch_size), float(batching_window_seconds)
        self.say = say
        self.mapping = LocalEventSourceMapping()
        self.guard_actions = Counter()  # what the stream guard's runs did: paused, resumed, unchanged, busy
        self.totals = Counter(dict.fromkeys(SUMMARY_KEYS, 0))  # the consumer's summary keys, and failed_items

    def run(self, stop, report=False):
        """Poll, call the worker and delete until `stop` (a threading.Event) is set; the batch in hand is finished.

        `report`: say one line per batch (as `inv local` does for each consumer run).
        """
        while not stop.is_set():
            try:
                summary = self.poll_once(stop)
                if report and summary:
                    self.say(
                        f"{time.strftime('%H:%M:%S')} stream: received {summary['received']}, stored {summary['stored']}, "
                        f"duplicates {summary['duplicates']}, rejected {summary['rejected']}, deleted {summary['deleted']}, "
                        f"failed batches {summary['failed_batches']}"
                    )
            except Exception as error:  # keep polling, as Lambda's poller would
                self.say(f"{time.strftime('%H:%M:%S')} stream poller: {type(error).__name__}: {error}")
                stop.wait(1.0)

    def poll_once(self, stop=None):
        """Gather one batch, hand it to the worker, delete what it acknowledged; the batch's summary or None when empty.

        While the mapping is disabled it receives nothing (it waits up to a second for it to be enabled).
        """
        if not self.mapping.wait_enabled(timeout=1.0):
            return None
        messages = self._gather(stop)
        if not messages:
            return None
        summary = Counter(dict.fromkeys(SUMMARY_KEYS, 0), received=len(messages), worker_invocations=1)
        try:
            answer = self.handle_event(self._event(messages))
        except Exception as error:
            summary["failed_batches"] += 1
            self.say(f"{time.strftime('%H:%M:%S')} stream: worker failed on a batch of {len(messages)} "
                     f"(left in the queue): {type(error).__name__}: {error}")
        else:
            acknowledged = self._acknowledged(messages, answer)
            if acknowledged is None:
                summary["failed_batches"] += 1
            else:
                summary.update({key: answer.get(key, 0) for key in ("stored", "duplicates", "rejected")})
                summary["deleted"] += self._delete(acknowledged)
                summary["failed_items"] += len(messages) - len(acknowledged)
        self.totals.update(summary)
        return dict(summary)

    def _gather(self, stop):
        messages, first_at = [], None
        while len(messages) < self.batch_size:
            if first_at is not None:
                left = self.window - (time.monotonic() - first_at)
                if left <= 0 or (stop is not None and stop.is_set()):
                    break  # the window passed, or a stop closes the batch in hand now
                wait = 1 if left >= 1 else 0
            elif stop is not None and stop.is_set():
                break
            else:
                wait = 1
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(RECEIVE_MAX, self.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
            )
            received = response.get("Messages", [])
            if received and first_at is None:
                first_at = time.monotonic()
            messages += received
            if not received and wait == 0:
                time.sleep(min(0.05, max(0.0, self.window - (time.monotonic() - first_at))))
        return messages

    def guard(self, invoke, every, stop, log):
        """Run the consumer's stream guard on this poller every `every` seconds until `stop` is set (its schedule)."""
        load_handler_module("analytics_consumer")
        from analytics_consumer.stream_guard import guard_stream

        while not stop.is_set():
            try:
                result = guard_stream(invoke, self.mapping, log=log)
                self.guard_actions[result["action"]] += 1
            except Exception as error:  # keep the schedule going, as EventBridge would
                self.say(f"{time.strftime('%H:%M:%S')} stream guard failed: {type(error).__name__}: {error}")
            stop.wait(every)

    def _event(self, messages):
        return {"Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn,
                "awsRegion": self.region,
            }
            for message in messages
        ]}

    def _acknowledged(self, messages, answer):
        """The messages to delete, or None when the answer fails the whole batch (as Lambda reads it)."""
        failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
        if failures is None:
            self.say(f"stream: the worker's answer has no batchItemFailures; the batch is left in the queue: {answer!r:.200}")
            return None
        failed = {failure.get("itemIdentifier") for failure in failures}
        if not failed <= {message["MessageId"] for message in messages}:
            self.say(f"stream: the worker reported unknown message ids {sorted(map(str, failed))[:5]}; the batch is left")
            return None
        return [message for message in messages if message["MessageId"] not in failed]

    def _delete(self, messages):
        load_handler_module("analytics_consumer")  # the consumer's checked deletes, 10 per call with retries
        from analytics_consumer.queue_messages import delete_messages

        deleted, failed, last_error = delete_messages(self.sqs, self.queue_url, messages)
        if failed:
            self.say(f"stream: {failed} not deleted (they will come back and be duplicates): {last_error}")
        return deleted
