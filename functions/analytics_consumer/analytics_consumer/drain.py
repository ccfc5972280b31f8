"""The drain loop: receive from SQS, batch, call the worker, delete what it acknowledged.

Three kinds of threads work at once:
- `sqs_streams` receive streams put what they receive into a small buffer (at most one batch's worth
  of receives waits there), so receiving never waits for a worker call or a delete;
- the calling thread builds batches from the buffer and starts worker calls, at most
  `max_parallel_workers` at a time (in a pool), and accounts for them as they finish;
- `sqs_streams` delete threads delete acknowledged messages, 10 per call, off the receiving path.

The rules of a run: nothing is deleted before the worker acknowledged it; a worker call starts only
while the time left covers it; when the run stops (time, outage), every message it holds that was not
acknowledged is released (made visible again). Before the first receive, and after any failed worker
call, a probe (an empty batch) checks that the worker can store: if not, the run stops receiving at once.
"""
import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass

from analytics_consumer.batching import Batch, BatchBuilder
from analytics_consumer.log import describe_error, log
from analytics_consumer.queue_messages import SQS_BATCH_LIMIT, chunks, delete_messages, release_messages
from analytics_consumer.settings import Settings
from analytics_consumer.worker_invoke import acknowledged_counts, probe_worker

QUEUE_EMPTY = "queue_empty"
TIME_BUDGET = "time_budget"
WORKER_UNAVAILABLE = "worker_unavailable"

_POLL_SECONDS = 0.05  # how often a waiting thread looks whether the run is stopping
_STREAM_DONE = object()  # what a receive stream puts in the buffer when it ends


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
    def __init__(self, sqs, settings: Settings, invoke, time_left_ms, workers, deleters, log, sleep):
        self.sqs = sqs
        self.settings = settings
        self.invoke = invoke
        self.time_left_ms = time_left_ms
        self.workers = workers
        self.deleters = deleters
        self.log = log
        self.sleep = sleep
        self.summary = Summary()
        self.in_flight: dict[Future, Batch] = {}
        self.deletes: list[Future] = []
        self.to_release: list[dict] = []
        self.last_delete_error = None
        self.outage_error: str | None = None  # set when a probe failed: the worker cannot store
        # A receive is worth making only if a worker call can still follow it.
        self.receive_reserve_ms = settings.worker_call_reserve_ms + settings.receive_wait_seconds * 1000
        self.buffer: queue.Queue = queue.Queue()
        self.receives_per_batch = -(-settings.max_batch_events // SQS_BATCH_LIMIT)  # at least 1
        self.buffer_slots = threading.Semaphore(self.receives_per_batch)
        self.may_receive = threading.Event()  # cleared while a failed call is examined: no receive meanwhile
        self.may_receive.set()
        self.stopping = threading.Event()
        self.stream_endings: list[str] = []
        self.receive_errors: list[BaseException] = []
        self.lock = threading.Lock()

    # -- is the worker able to store? ------------------------------------------
    def worker_can_store(self) -> bool:
        """One probe call (synchronous, receiving paused); records the outage if it fails."""
        if self.outage_error is not None:
            return False
        self.summary.probes += 1
        self.outage_error = probe_worker(self.invoke)
        return self.outage_error is None

    # -- receive streams ---------------------------------------------------------
    def receive_stream(self) -> None:
        ending = QUEUE_EMPTY
        try:
            while True:
                if not self._wait_for(self.buffer_slots.acquire):
                    break
                if not self._wait_for(self.may_receive.wait):
                    self.buffer_slots.release()
                    break
                if self.time_left_ms() < self.receive_reserve_ms:
                    self.buffer_slots.release()  # the room is for the streams still waiting: they must see the time too
                    ending = TIME_BUDGET
                    break
                messages = self.receive()
                if not messages:
                    self.buffer_slots.release()
                    break
                self.buffer.put(messages)
        except BaseException as error:  # a receive raised: the main thread stops the run and re-raises it
            self.receive_errors.append(error)
            self.stopping.set()
        finally:
            with self.lock:
                self.stream_endings.append(ending)
            self.buffer.put(_STREAM_DONE)

    def _wait_for(self, blocking_call) -> bool:
        """Call `blocking_call(timeout=...)` until it returns true; False if the run stops first."""
        while not self.stopping.is_set():
            if blocking_call(timeout=_POLL_SECONDS):
                return not self.stopping.is_set()
        return False

    def receive(self) -> list[dict]:
        response = self.sqs.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=SQS_BATCH_LIMIT,
            WaitTimeSeconds=self.settings.receive_wait_seconds,
        )
        messages = response.get("Messages", [])
        with self.lock:
            self.summary.received += len(messages)
        return messages

    # -- worker calls -------------------------------------------------------
    def dispatch(self, batch: Batch) -> bool:
        """Start a worker call for the batch once a slot is free, if time allows and the worker is up; else release it."""
        while len(self.in_flight) >= self.settings.max_parallel_workers:
            done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
            self.settle(done)
        if self.outage_error is not None or self.time_left_ms() < self.settings.worker_call_reserve_ms:
            self.release(batch.messages)
            return False
        self.summary.worker_invocations += 1
        future = self.workers.submit(self.invoke, batch.bodies)
        future.add_done_callback(self._pause_receiving_if_failed)
        self.in_flight[future] = batch
        return True

    def _pause_receiving_if_failed(self, future: Future) -> None:
        if future.exception() is not None:
            self.may_receive.clear()  # until settle() has probed the worker

    def settle(self, done) -> None:
        """Account for finished worker calls: delete acknowledged batches, examine failed ones."""
        for future in done:
            batch = self.in_flight.pop(future)
            try:
                counts = acknowledged_counts(future.result(), len(batch))
            except Exception as error:  # any failure of the call: the batch stays in the queue
                self.summary.failed_batches += 1
                self.may_receive.clear()
                self.after_failure(batch, error)
                continue
            self.summary.stored += counts["stored"]
            self.summary.duplicates += counts["duplicates"]
            self.summary.rejected += counts["rejected"]
            for chunk in chunks(batch.messages):
                self.deletes.append(self.deleters.submit(
                    delete_messages, self.sqs, self.settings.queue_url, chunk, sleep=self.sleep))
        if self.outage_error is None and not any(future.exception() for future in self.in_flight if future.done()):
            self.may_receive.set()

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
        self.release(batch.messages)

    def settle_finished(self) -> None:
        self.settle([future for future in self.in_flight if future.done()])

    def settle_all(self) -> None:
        while self.in_flight:
            done, _ = wait(list(self.in_flight))
            self.settle(done)

    def collect_deletes(self, only_done: bool) -> None:
        remaining = []
        for future in self.deletes:
            if only_done and not future.done():
                remaining.append(future)
                continue
            deleted, not_deleted, last_error = future.result()
            self.summary.deleted += deleted
            self.summary.delete_failures += not_deleted
            if not_deleted:
                self.last_delete_error = last_error
        self.deletes = remaining

    def wait_for_deletes_to_catch_up(self) -> None:
        """Take no more from the buffer (so the streams receive no more) while more acknowledged messages wait
        for their delete than the worker slots hold: a message waiting too long for its delete would become
        visible again and be received again."""
        limit = self.settings.max_parallel_workers * self.receives_per_batch
        while len(self.deletes) > limit:
            wait(self.deletes, return_when=FIRST_COMPLETED)
            self.collect_deletes(only_done=True)

    def release(self, messages: list[dict]) -> None:
        """Release the messages once the receive streams have stopped: released now, one of them could be
        received again by a stream in this very run (a second receive of one message in one run)."""
        self.to_release.extend(messages)

    def release_held(self) -> None:
        messages, self.to_release = self.to_release, []
        if messages:
            self.summary.released += release_messages(self.sqs, self.settings.queue_url, messages)

    # -- the run ---------------------------------------------------------------
    def run(self) -> Summary:
        if self.time_left_ms() < self.receive_reserve_ms:
            self.summary.stopped_because = TIME_BUDGET
            return self.summary
        if not self.worker_can_store():  # before the first receive: an outage costs no message a receive
            return self.stopped_by_outage()
        streams = [threading.Thread(target=self.receive_stream, name=f"sqs-receive-{number}", daemon=True)
                   for number in range(self.settings.sqs_streams)]
        for stream in streams:
            stream.start()
        builder = BatchBuilder(self.settings.max_batch_events, self.settings.max_batch_bytes)
        try:
            stopped_early = self.batch_and_dispatch(builder, streams=len(streams))
            partial = builder.flush()
            if partial is not None and stopped_early:
                self.release(partial.messages)
            elif partial is not None and not self.dispatch(partial):  # dispatch released it
                self.summary.stopped_because = TIME_BUDGET
        finally:
            # Even when a receive raised: account for the calls already made, so acknowledged work is deleted,
            # and make visible again what was received but never sent.
            self.stopping.set()
            for stream in streams:
                stream.join()
            self.release_buffered()
            self.settle_all()
            self.release_held()
            self.collect_deletes(only_done=False)
        if self.receive_errors:
            raise self.receive_errors[0]
        if self.summary.delete_failures:
            self.log("WARNING", "acknowledged messages could not be deleted; they will be delivered again",
                     count=self.summary.delete_failures, error=self.last_delete_error)
        if self.outage_error is not None:
            return self.stopped_by_outage()
        if not self.summary.stopped_because:
            self.summary.stopped_because = TIME_BUDGET if TIME_BUDGET in self.stream_endings else QUEUE_EMPTY
        return self.summary

    def batch_and_dispatch(self, builder: BatchBuilder, streams: int) -> bool:
        """Take received messages from the buffer into batches and start their worker calls until every stream
        ended; True if the run stopped early (no time for a call, the worker down, a receive failed)."""
        ended = 0
        while ended < streams:
            self.settle_finished()
            self.collect_deletes(only_done=True)
            self.wait_for_deletes_to_catch_up()
            if self.outage_error is not None or self.receive_errors:
                return True
            try:
                item = self.buffer.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if item is _STREAM_DONE:
                ended += 1
                continue
            self.buffer_slots.release()
            ready = [batch for message in item for batch in builder.add(message)]
            for index, batch in enumerate(ready):
                if not self.dispatch(batch):
                    for later in ready[index + 1:]:
                        self.release(later.messages)
                    self.summary.stopped_because = TIME_BUDGET
                    return True
        return False

    def release_buffered(self) -> None:
        while True:
            try:
                item = self.buffer.get_nowait()
            except queue.Empty:
                return
            if item is not _STREAM_DONE:
                self.release(item)

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


def drain(sqs, settings: Settings, invoke, time_left_ms, log=log, sleep=time.sleep) -> Summary:
    """Drain the queue `settings.queue_url` into `invoke` (the worker seam) until it is empty or time runs short.

    `sqs` is a boto3 SQS client (used from several threads: boto3 clients are thread-safe);
    `invoke(bodies: list[str])` returns the worker's counts or raises; `time_left_ms()` tells how much
    time the run has left.
    """
    with (
        ThreadPoolExecutor(max_workers=settings.max_parallel_workers, thread_name_prefix="worker-call") as workers,
        ThreadPoolExecutor(max_workers=settings.sqs_streams, thread_name_prefix="sqs-delete") as deleters,
    ):
        return _Run(sqs, settings, invoke, time_left_ms, workers, deleters, log, sleep).run()
