"""Make moto's SQS fast enough for queues of thousands, without changing what it answers.

moto 5.2 computes all queue attributes (three scans of every message, each
reading the clock through datetime arithmetic) on every message sent and, via
the retention check, three times for every message received: quadratic in the
queue length (2,500 messages: ~84 s to send, minutes to drain). The patches make
the clock read time.time() (same value) and the retention check read the one
attribute it needs. If moto's internals change, nothing is patched (only slower).

moto server mode (ThreadedMotoServer) runs in the calling process, so applying
the patches there speeds up the server too.
"""
import time


def quick_sqs_patches():
    """[(owner, attribute name, replacement)]: empty when moto's internals are not the expected ones."""
    from moto.sqs import models

    if not all(hasattr(models, name) for name in ("unix_time", "unix_time_millis", "SQSBackend")):
        return []
    datetime_unix_time = models.unix_time

    def unix_time(dt=None):
        return time.time() if dt is None else datetime_unix_time(dt)

    def unix_time_millis(dt=None):
        return unix_time(dt) * 1000.0

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        queue = self.get_queue(queue_name)
        return queue.message_retention_period + message.sent_timestamp / 1000 > unix_time()

    patches = [(models, "unix_time", unix_time), (models, "unix_time_millis", unix_time_millis)]
    if hasattr(models.SQSBackend, "is_message_valid_based_on_retention_period"):
        patches.append(
            (models.SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period)
        )
    patches += _one_receive_at_a_time(models.SQSBackend)
    return patches


def _one_receive_at_a_time(backend_class):
    """moto's ReceiveMessage picks visible messages without a lock, so two threads receiving at once (the
    consumer's receive streams) can both get the same message, and a delete on another thread can change the
    set a receive iterates ("Set changed size during iteration"). Real SQS does neither. One receive, delete
    or visibility change at a time per queue closes those races (the GIL serialised them anyway)."""
    import threading

    locks, locks_lock = {}, threading.Lock()
    patches = []
    for name in ("receive_message", "delete_message", "change_message_visibility"):
        original = getattr(backend_class, name, None)
        if original is None or getattr(original, "one_at_a_time", False):
            continue

        def serialised(self, queue_name, *args, _original=original, **kwargs):
            with locks_lock:
                lock = locks.setdefault(queue_name, threading.RLock())
            with lock:
                return _original(self, queue_name, *args, **kwargs)

        if name == "receive_message":
            serialised = _waiting_outside(serialised)

        serialised.one_at_a_time = True
        patches.append((backend_class, name, serialised))
    return patches


def _waiting_outside(receive):
    """A long-polling receive that waits for messages without holding the queue's lock (so deletes go on)."""

    def receive_message(self, queue_name, count, wait_seconds_timeout, *args, **kwargs):
        deadline = time.time() + (wait_seconds_timeout or 0)
        while True:
            result = receive(self, queue_name, count, 0, *args, **kwargs)
            left = deadline - time.time()
            if result or left <= 0:
                return result
            self.get_queue(queue_name).wait_for_messages(min(1.0, left))

    receive_message.one_at_a_time = True
    return receive_message


def apply_quick_sqs():
    """Apply the patches to this process; returns a function that undoes them."""
    saved = []
    for owner, name, replacement in quick_sqs_patches():
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def undo():
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)

    return undo
