"""Log records as single JSON lines on stdout (what CloudWatch Logs Insights reads best)."""
import json
import sys


def log_line(level: str, message: str, **fields) -> None:
    record = {"level": level, "message": message, **fields}
    print(json.dumps(record, default=str, separators=(",", ":")), file=sys.stdout, flush=True)


def describe_error(error: BaseException, limit: int = 300) -> str:
    """`Type: text`, cut short: enough to diagnose, never a whole payload."""
    text = str(error)
    if len(text) > limit:
        text = text[:limit] + "..."
    return f"{type(error).__name__}: {text}"
