"""HTTP requests and responses in the shape of a Lambda function URL / API Gateway HTTP API (payload 2.0) event."""
import base64
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict = field(default_factory=dict)  # names lower-case
    query: dict = field(default_factory=dict)
    body: bytes = b""
    source_ip: str | None = None

    @property
    def user_agent(self):
        return self.headers.get("user-agent")


@dataclass(frozen=True)
class Response:
    status: int
    body: dict | None = None
    headers: dict = field(default_factory=dict)

    def as_lambda(self):
        """The function URL / HTTP API answer."""
        headers = dict(self.headers)
        text = ""
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            text = json.dumps(self.body, separators=(",", ":"))
        return {"statusCode": self.status, "headers": headers, "body": text, "isBase64Encoded": False}


def request_from_event(event):
    """A Request from a payload-2.0 event (function URL, HTTP API, or the local adapter)."""
    context = event.get("requestContext", {}).get("http", {})
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    return Request(
        method=(context.get("method") or "GET").upper(),
        path=event.get("rawPath") or context.get("path") or "/",
        headers={name.lower(): value for name, value in (event.get("headers") or {}).items()},
        query=dict(event.get("queryStringParameters") or {}),
        body=raw,
        source_ip=context.get("sourceIp"),
    )
