"""The consumer's settings, read from the environment and checked once."""
import re
from dataclasses import dataclass
from typing import Mapping

# Lambda's limit for a synchronous Invoke request is 6 MB; stay well under it.
LAMBDA_SYNC_PAYLOAD_LIMIT = 6_000_000

# A worker call waits at most CONNECT + (worker timeout + READ_SLACK) seconds
# (the Lambda client makes no retries). Another call is started only while the
# time left covers that plus the deletes after it: worker timeout + MARGIN.
WORKER_CONNECT_TIMEOUT_SECONDS = 2
WORKER_READ_SLACK_SECONDS = 3
TIME_MARGIN_SECONDS = 10

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_FUNCTION_NAME_OR_ARN = re.compile(
    r"^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,140}(:[A-Za-z0-9_$-]{1,128})?$"
)


class SettingsError(ValueError):
    """An environment variable is missing or holds a value that is not allowed."""


@dataclass(frozen=True)
class Settings:
    queue_url: str
    worker_function: str
    worker_timeout_seconds: int = 30
    max_batch_events: int = 1000
    max_batch_bytes: int = 5_000_000
    max_parallel_workers: int = 4
    receive_wait_seconds: int = 1
    sqs_streams: int = 4
    # Stream mode: the event source mapping that feeds the worker. Set, a run guards it (pauses it while
    # the worker cannot store) instead of draining the queue.
    stream_mapping_uuid: str | None = None

    @property
    def worker_read_timeout_seconds(self) -> int:
        """Read timeout of the Lambda client: the worker's own timeout plus a little slack."""
        return self.worker_timeout_seconds + WORKER_READ_SLACK_SECONDS

    @property
    def worker_call_reserve_ms(self) -> int:
        """Time that must be left to start one more worker call: its timeout plus a margin."""
        return (self.worker_timeout_seconds + TIME_MARGIN_SECONDS) * 1000


# name -> (field, default, lowest, highest)
_INTEGERS = {
    "WORKER_TIMEOUT_SECONDS": ("worker_timeout_seconds", 30, 3, 900),
    # Up to 10,000 events (SQS's own largest batch for a Lambda): MAX_BATCH_BYTES, not the count, keeps a batch
    # under the 6 MB synchronous payload limit, whatever the events' size.
    "MAX_BATCH_EVENTS": ("max_batch_events", 1000, 1, 10_000),
    "MAX_BATCH_BYTES": ("max_batch_bytes", 5_000_000, 1, LAMBDA_SYNC_PAYLOAD_LIMIT),
    "MAX_PARALLEL_WORKERS": ("max_parallel_workers", 4, 1, 32),
    "RECEIVE_WAIT_SECONDS": ("receive_wait_seconds", 1, 0, 20),
    # Receive streams, and as many delete threads: each receive or delete call takes ~10-30 ms of
    # SQS latency, so 4 streams keep ~4 calls in flight each way; more only pays with more CPU (memory).
    "SQS_STREAMS": ("sqs_streams", 4, 1, 16),
}


def _integer(environ: Mapping[str, str], name: str, default: int, lowest: int, highest: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number: allowed are {lowest} to {highest}.") from None
    if not lowest <= value <= highest:
        raise SettingsError(f"{name}={value} is out of range: allowed are {lowest} to {highest}.")
    return value


def _required(environ: Mapping[str, str], name: str, what: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set: it must hold {what}.")
    return value


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    """Read and check the settings; raise SettingsError naming the variable and what it allows."""
    queue_url = _required(environ, "SQS_URL", "the URL of the analytics events queue")
    if not queue_url.startswith(("https://", "http://")):
        raise SettingsError(f"SQS_URL={queue_url!r} is not a queue URL: it must start with https:// (or http://).")
    worker = _required(environ, "WORKER_LAMBDA_ARN", "the ARN (or name) of the analytics_worker function")
    if not _FUNCTION_NAME_OR_ARN.match(worker):
        raise SettingsError(
            f"WORKER_LAMBDA_ARN={worker!r} is not a Lambda function ARN or name "
            "(arn:aws:lambda:<region>:<account>:function:<name>[:<alias>])."
        )
    numbers = {field: _integer(environ, name, default, lo, hi) for name, (field, default, lo, hi) in _INTEGERS.items()}
    mapping = environ.get("STREAM_MAPPING_UUID", "").strip() or None
    if mapping is not None and not _UUID.match(mapping):
        raise SettingsError(
            f"STREAM_MAPPING_UUID={mapping!r} is not an event source mapping's UUID "
            "(8-4-4-4-12 lower-case hex digits, as aws_lambda_event_source_mapping's uuid)."
        )
    return Settings(queue_url=queue_url, worker_function=worker, stream_mapping_uuid=mapping, **numbers)
