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
WORKER_UNAVAILABLE = "worker_unavailable"

# The probe: an empty batch. The worker opens (or checks) its database connection and runs its
# store transaction on no items, so it fails exactly when the worker cannot store.
PROBE_BATCH: list[str] = []


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
    released: int = 0  # received but not acknowledged, made visible again (no time left, or the worker is down)
    probes: int = 0  # empty worker calls that check the worker can store, before receiving and after a failure
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
        self.outage_error: str | None = None  # set when a probe failed: the worker cannot store

    # -- is the worker able to store? ------------------------------------------
    def worker_can_store(self) -> bool:
        """One probe call (synchronous, so nothing more is received meanwhile); records the outage if it fails."""
        if self.outage_error is not None:
            return False
        self.summary.probes += 1
        try:
            acknowledged_counts(self.invoke(PROBE_BATCH), 0)
        except Exception as error:  # any failure: the worker cannot store now
            self.outage_error = describe_error(error)
            return False
        return True

    # -- worker calls -------------------------------------------------------
    def dispatch(self, batch: Batch) -> bool:
        """Start a worker call for the batch once a slot is free, if time allows and the worker is up; else release it."""
        while len(self.in_flight) >= self.settings.max_parallel_workers:
            done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
            self.settle(done)
        if self.outage_error is not None or self.time_left_ms() < self.settings.worker_call_reserve_ms:
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
                self.after_failure(batch, error)
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

    def after_failure(self, batch: Batch, error: Exception) -> None:
        """A failed batch: if the worker still stores (probe), it may be poison: leave it to come back after the
        visibility timeout (and to reach the DLQ if it keeps failing). If the worker cannot store, release it:
        an outage must not use up its receives."""
        # With no time left for a probe the run is over anyway: release the batch (it cannot tell which case).
        if self.time_left_ms() >= self.settings.worker_call_reserve_ms and self.worker_can_store():
            self.log(
                "ERROR",
                "worker call failed while the worker can store; its messages stay in the queue",
                events=len(batch),
                first_message_id=batch.messages[0].get("MessageId"),
                error=describe_error(error),
            )
            return
        self.release(batch)

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
        if self.time_left_ms() < receive_reserve_ms:
            self.summary.stopped_because = TIME_BUDGET
            return self.summary
        if not self.worker_can_store():  # before the first receive: an outage costs no message a receive
            return self.stopped_by_outage()
        try:
            while True:
                self.settle_finished()
                if self.outage_error is not None:
                    break
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
                self.summary.stopped_because = self.summary.stopped_because or TIME_BUDGET
        finally:
            # Even when a receive raised: account for the calls already made, so acknowledged work is deleted.
            self.settle_all()
        if self.outage_error is not None:
            return self.stopped_by_outage()
        return self.summary

    def stopped_by_outage(self) -> Summary:
        self.summary.stopped_because = WORKER_UNAVAILABLE
        self.log(
            "ERROR",
            "the worker cannot store (database or worker down): run stopped, held messages released, "
            "the next run tries again",
            released=self.summary.released,
            received=self.summary.received,
            error=self.outage_error,
        )
        return self.summary


def drain(sqs, settings: Settings, invoke, time_left_ms, log=log_line, sleep=time.sleep) -> Summary:
    """Drain the queue `settings.queue_url` into `invoke` (the worker seam) until it is empty or time runs short.

    `sqs` is a boto3 SQS client; `invoke(bodies: list[str])` returns the worker's counts
    or raises; `time_left_ms()` tells how much time the run has left.
    """
    with ThreadPoolExecutor(max_workers=settings.max_parallel_workers, thread_name_prefix="worker-call") as pool:
        return _Run(sqs, settings, invoke, time_left_ms, pool, log, sleep).run()
