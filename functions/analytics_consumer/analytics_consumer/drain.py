"""The drain loop: receive from SQS, batch, call the worker, delete what it acknowledged.

All SQS calls happen on the calling thread; only the worker calls run in a
thread pool (at most `max_parallel_workers` at a time).
"""
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass

from analytics_consumer.batching import Batch, BatchBuilder
from analytics_consumer.log import describe_error, log_line
from analytics_consumer.queue_messages import delete_messages, release_messages
from analytics_consumer.settings import Settings
from analytics_consumer.worker_invoke import acknowledged_counts

QUEUE_EMPTY = "queue_empty"
TIME_BUDGET = "time_budget"


@dataclass
class Summary:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed_batches: int = 0
    worker_invocations: int = 0
    deleted: int = 0
    delete_failures: int = 0
    released: int = 0  # received, but not sent to the worker for lack of time: made visible again
    stopped_because: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class _Run:
    def __init__(self, sqs, settings: Settings, invoke, time_left_ms, pool: ThreadPoolExecutor, log, sleep):
        self.sqs = sqs
        self.settings = settings
        self.invoke = invoke
        self.time_left_ms = time_left_ms
        self.pool = pool
        self.log = log
        self.sleep = sleep
        self.summary = Summary()
        self.in_flight: dict[Future, Batch] = {}

    # -- worker calls -------------------------------------------------------
    def dispatch(self, batch: Batch) -> bool:
        """Start a worker call for the batch once a slot is free and if time allows; else release it."""
        while len(self.in_flight) >= self.settings.max_parallel_workers:
            done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
            self.settle(done)
        if self.time_left_ms() < self.settings.worker_call_reserve_ms:
            self.release(batch)
            return False
        self.summary.worker_invocations += 1
        self.in_flight[self.pool.submit(self.invoke, batch.bodies)] = batch
        return True

    def settle(self, done) -> None:
        """Account for finished worker calls: delete acknowledged batches, log failed ones."""
        for future in done:
            batch = self.in_flight.pop(future)
            try:
                counts = acknowledged_counts(future.result(), len(batch))
            except Exception as error:  # any failure of the call: the batch stays in the queue
                self.summary.failed_batches += 1
                self.log(
                    "ERROR",
                    "worker call failed; its messages stay in the queue",
                    events=len(batch),
                    first_message_id=batch.messages[0].get("MessageId"),
                    error=describe_error(error),
                )
                continue
            self.summary.stored += counts["stored"]
            self.summary.duplicates += counts["duplicates"]
            self.summary.rejected += counts["rejected"]
            deleted, not_deleted, last_error = delete_messages(
                self.sqs, self.settings.queue_url, batch.messages, sleep=self.sleep
            )
            self.summary.deleted += deleted
            if not_deleted:
                self.summary.delete_failures += not_deleted
                self.log(
                    "WARNING",
                    "acknowledged messages could not be deleted; they will be delivered again",
                    count=not_deleted,
                    error=last_error,
                )

    def settle_finished(self) -> None:
        self.settle([future for future in self.in_flight if future.done()])

    def settle_all(self) -> None:
        if self.in_flight:
            done, _ = wait(list(self.in_flight))
            self.settle(done)

    def release(self, batch: Batch) -> None:
        self.summary.released += release_messages(self.sqs, self.settings.queue_url, batch.messages)

    # -- the loop -----------------------------------------------------------
    def receive(self) -> list[dict]:
        response = self.sqs.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.settings.receive_wait_seconds,
        )
        messages = response.get("Messages", [])
        self.summary.received += len(messages)
        return messages

    def run(self) -> Summary:
        builder = BatchBuilder(self.settings.max_batch_events, self.settings.max_batch_bytes)
        # A receive is worth making only if a worker call can still follow it.
        receive_reserve_ms = self.settings.worker_call_reserve_ms + self.settings.receive_wait_seconds * 1000
        try:
            while True:
                self.settle_finished()
                if self.time_left_ms() < receive_reserve_ms:
                    self.summary.stopped_because = TIME_BUDGET
                    break
                messages = self.receive()
                if not messages:
                    self.summary.stopped_because = QUEUE_EMPTY
                    break
                ready = [batch for message in messages for batch in builder.add(message)]
                for index, batch in enumerate(ready):
                    if not self.dispatch(batch):
                        for later in ready[index + 1:]:
                            self.release(later)
                        self.summary.stopped_because = TIME_BUDGET
                        break
                if self.summary.stopped_because:
                    break
            partial = builder.flush()
            if partial is not None and not self.dispatch(partial):
                self.summary.stopped_because = TIME_BUDGET
        finally:
            # Even when a receive raised: account for the calls already made, so acknowledged work is deleted.
            self.settle_all()
        return self.summary


def drain(sqs, settings: Settings, invoke, time_left_ms, log=log_line, sleep=time.sleep) -> Summary:
    """Drain the queue `settings.queue_url` into `invoke` (the worker seam) until it is empty or time runs short.

    `sqs` is a boto3 SQS client; `invoke(bodies: list[str])` returns the worker's counts
    or raises; `time_left_ms()` tells how much time the run has left.
    """
    with ThreadPoolExecutor(max_workers=settings.max_parallel_workers, thread_name_prefix="worker-call") as pool:
        return _Run(sqs, settings, invoke, time_left_ms, pool, log, sleep).run()
