"""Structured logs: one JSON line per record on stdout, which CloudWatch Logs Insights reads field by field.

A record holds `level`, `message`, `service` (the function), `request_id` and `cold_start`
(true on the first call a container serves) while a call is in progress, then the fields
given. The handler wraps itself in `log.lambda_call`; plain functions take `log` as a
collaborator: `log("INFO", "message", field=value)`.

Every function ships this module (analytics_consumer/log.py, analytics_worker/log.py,
analytics_collector/log.py); the copies are byte-identical, and
tests/structured_log/test_structured_log.py fails when they are not.
"""
import functools
import json
import sys

_BASE_KEYS = ("level", "message", "service", "request_id", "cold_start")


def describe_error(error: BaseException, limit: int = 300) -> str:
    """`Type: text`, cut short: enough to diagnose, never a whole payload."""
    text = str(error)
    if len(text) > limit:
        text = text[:limit] + "..."
    return f"{type(error).__name__}: {text}"


class Logger:
    def __init__(self, service: str, stream=None):
        self.service = service
        self._stream = stream  # None: sys.stdout at the time of writing (what Lambda and pytest capture)
        self._calls_served = 0
        self._call = {}  # request_id and cold_start of the call in progress

    def __call__(self, level: str, message: str, /, **fields) -> None:
        record = {"level": level, "message": message, "service": self.service, **self._call}
        for key, value in fields.items():
            record[f"field_{key}" if key in _BASE_KEYS else key] = value
        stream = self._stream or sys.stdout
        print(json.dumps(record, default=str, separators=(",", ":")), file=stream, flush=True)

    def info(self, message: str, /, **fields) -> None:
        self("INFO", message, **fields)

    def warning(self, message: str, /, **fields) -> None:
        self("WARNING", message, **fields)

    def error(self, message: str, /, **fields) -> None:
        self("ERROR", message, **fields)

    def lambda_call(self, handler):
        """Decorate `handler(event, context)`: its records carry the call's request id and cold start.

        A call that raises leaves one ERROR record (with the request id) before Lambda reports it.
        """

        @functools.wraps(handler)
        def wrapper(event, context):
            self._call = {
                "request_id": getattr(context, "aws_request_id", None),
                "cold_start": self._calls_served == 0,
            }
            self._calls_served += 1
            try:
                return handler(event, context)
            except Exception as error:
                self.error("call failed", error=describe_error(error))
                raise
            finally:
                self._call = {}

        return wrapper


# One logger per function (per container), named after the package that holds this copy.
log = Logger(__name__.partition(".")[0])
