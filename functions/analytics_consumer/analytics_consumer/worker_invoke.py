"""The seam to the worker: a callable `invoke(batch: list[str]) -> counts`.

`lambda_invoker` makes one that calls the analytics_worker Lambda synchronously;
a local run or a test passes any other callable with the same contract.
"""
import json

from analytics_consumer.batching import encode_batch
from analytics_consumer.log import describe_error

COUNT_KEYS = ("processed", "stored", "duplicates", "rejected")

# The probe: an empty batch. The worker opens (or checks) its database connection and runs its
# store transaction on no items, so it fails exactly when the worker cannot store.
PROBE_BATCH: list[str] = []


class WorkerFailed(RuntimeError):
    """The worker did not acknowledge a batch: it raised, or its answer is not the expected counts."""


def acknowledged_counts(answer, batch_size: int) -> dict[str, int]:
    """The worker's counts, checked: every item of the batch processed, n = stored + duplicates + rejected."""
    if not isinstance(answer, dict):
        raise WorkerFailed(f"the worker answered a {type(answer).__name__}, not an object of counts")
    counts = {}
    for key in COUNT_KEYS:
        value = answer.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise WorkerFailed(f"the worker's answer has no valid count {key!r} (got {value!r})")
        counts[key] = value
    if counts["processed"] != counts["stored"] + counts["duplicates"] + counts["rejected"]:
        raise WorkerFailed(f"the worker's counts do not add up: {counts}")
    if counts["processed"] != batch_size:
        raise WorkerFailed(f"the worker processed {counts['processed']} items of a batch of {batch_size}")
    return counts


def probe_worker(invoke) -> str | None:
    """One probe call: None when the worker can store, else what went wrong (`Type: text`)."""
    try:
        acknowledged_counts(invoke(PROBE_BATCH), 0)
    except Exception as error:  # any failure: the worker cannot store now
        return describe_error(error)
    return None


def _function_error_text(raw: bytes) -> str:
    try:
        error = json.loads(raw)
        return f"{error.get('errorType', '?')}: {str(error.get('errorMessage', ''))[:300]}"
    except (ValueError, AttributeError):
        return raw[:300].decode("utf-8", "replace")


def lambda_invoker(lambda_client, function_arn: str):
    """A worker seam that invokes `function_arn` synchronously (RequestResponse) with the batch as a JSON list."""

    def invoke(batch: list[str]) -> dict[str, int]:
        response = lambda_client.invoke(
            FunctionName=function_arn,
            InvocationType="RequestResponse",
            Payload=encode_batch(batch),
        )
        raw = response["Payload"].read()
        if response.get("FunctionError"):
            raise WorkerFailed(f"the worker raised ({response['FunctionError']}) {_function_error_text(raw)}")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise WorkerFailed(f"the worker's answer is not JSON: {raw[:100]!r}") from None
        return acknowledged_counts(answer, len(batch))

    return invoke
