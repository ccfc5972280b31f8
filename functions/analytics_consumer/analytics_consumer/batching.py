"""Group SQS messages into worker batches bounded by count and by encoded size."""
import json
from dataclasses import dataclass, field


def encode_batch(bodies: list[str]) -> bytes:
    """The worker's payload: the message bodies, untouched, as a compact JSON list (UTF-8)."""
    return json.dumps(bodies, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encoded_size(body: str) -> int:
    """Bytes that one body adds to `encode_batch`'s output (without the comma)."""
    return len(json.dumps(body, ensure_ascii=False).encode("utf-8"))


@dataclass
class Batch:
    """SQS messages (dicts as `ReceiveMessage` returns them) that go to the worker in one call."""

    messages: list[dict] = field(default_factory=list)
    encoded_bytes: int = 2  # "[]"

    @property
    def bodies(self) -> list[str]:
        return [message["Body"] for message in self.messages]

    def __len__(self) -> int:
        return len(self.messages)

    def size_with(self, body_size: int) -> int:
        return self.encoded_bytes + body_size + (1 if self.messages else 0)

    def append(self, message: dict, body_size: int) -> None:
        self.encoded_bytes = self.size_with(body_size)
        self.messages.append(message)


class BatchBuilder:
    """Collect messages; hand out a batch as soon as the next message would not fit.

    A batch never holds more than `max_events` messages nor encodes to more than
    `max_bytes`, except a single message larger than `max_bytes`: it goes alone
    (a message is never split).
    """

    def __init__(self, max_events: int, max_bytes: int):
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._current = Batch()

    def add(self, message: dict) -> list[Batch]:
        """Add one message; return the batches it completed (zero, one or two)."""
        completed = []
        body_size = encoded_size(message["Body"])
        if self._current.messages and self._current.size_with(body_size) > self.max_bytes:
            completed.append(self._current)
            self._current = Batch()
        self._current.append(message, body_size)
        if len(self._current) >= self.max_events or self._current.encoded_bytes >= self.max_bytes:
            completed.append(self._current)
            self._current = Batch()
        return completed

    def flush(self) -> Batch | None:
        """The partial batch, if any (and start afresh)."""
        batch, self._current = self._current, Batch()
        return batch if batch.messages else None
