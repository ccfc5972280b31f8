"""The collector's own handler on 127.0.0.1, in front of the local stack's topic (`inv local`, `inv demo`).

A small stdlib HTTP server turns each request into the event a Lambda function URL / HTTP API
(payload 2.0) would pass, calls the same `handle` the Lambda handler calls, and writes its answer
back. It also serves the tracker and its demo page (GET /analytics.js, /demo.html), so a browser
can try the whole path with nothing else running.
"""
import base64
import contextlib
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ops.functions import ROOT, load_handler_module

LOCAL_WRITE_KEY = "local-write-key"  # public by design, like every write key; the local stack's only one
LOCAL_APP = "local-demo"
STATIC = {  # path -> (file, content type)
    "/analytics.js": (ROOT / "collector" / "js" / "analytics.js", "text/javascript; charset=utf-8"),
    "/demo.html": (ROOT / "collector" / "js" / "demo.html", "text/html; charset=utf-8"),
}


def lambda_event(method, target, headers, body, client_ip):
    """The payload-2.0 event API Gateway / a function URL would send for this request."""
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return {
        "version": "2.0",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "queryStringParameters": query or None,
        "requestContext": {"http": {"method": method, "path": parts.path, "sourceIp": client_ip,
                                    "userAgent": headers.get("User-Agent", "")}},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


class CollectorServer:
    """`handle` of analytics_collector behind ThreadingHTTPServer; `timings_ms` records each handler call."""

    def __init__(self, topic_arn, sns, port=0, write_keys=None, cors_origins=("*",), out=None):
        load_handler_module("analytics_collector")  # its package on sys.path, as in the zip
        from analytics_collector.collect import handle
        from analytics_collector.http import request_from_event
        from analytics_collector.keys import KeyRing, key_loader
        from analytics_collector.publish import publish_batch
        from analytics_collector.schema import load_schema
        from analytics_collector.settings import Settings

        self.write_keys = dict(write_keys or {LOCAL_WRITE_KEY: LOCAL_APP})
        settings = Settings(topic_arn=topic_arn, write_keys_json=json.dumps(self.write_keys), cors_origins=tuple(cors_origins))
        keys = KeyRing(key_loader(settings), settings.keys_cache_seconds)
        schema = load_schema()
        self.timings_ms = deque(maxlen=1_000_000)  # (whole handler call, of which SNS PublishBatch (moto here) took)
        self.out = out
        current = threading.local()

        def publish(bodies):
            started = time.perf_counter()
            try:
                return publish_batch(sns, topic_arn, bodies, attempts=settings.publish_attempts)
            finally:
                current.publish_ms += (time.perf_counter() - started) * 1000

        def log(level, message, **fields):
            if level != "INFO" and out is not None:
                print(f"collector {level}: {message} {json.dumps(fields, default=str)}", file=out, flush=True)

        def answer(event):
            current.publish_ms = 0.0
            started = time.perf_counter()
            result = handle(request_from_event(event), settings, keys, publish, schema, log=log).as_lambda()
            self.timings_ms.append(((time.perf_counter() - started) * 1000, current.publish_ms))
            return result

        self._answer = answer
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        except OSError as error:
            from invoke import Exit

            raise Exit(f"The collector cannot listen on 127.0.0.1:{port} ({error.strerror}): pass another --collector-port.") from None
        self._server.daemon_threads = True
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as fetch() uses it

            def _lambda(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                event = lambda_event(self.command, self.path, dict(self.headers.items()), body, self.client_address[0])
                result = server._answer(event)
                payload = result["body"].encode()
                self.send_response(result["statusCode"])
                for name, value in result["headers"].items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_OPTIONS = do_PUT = do_DELETE = _lambda

            def do_GET(self):
                static = STATIC.get(urlsplit(self.path).path)
                if static is None:
                    return self._lambda()
                path, content_type = static
                payload = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):  # no line per request
                pass

        return Handler

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="collector-server", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        with contextlib.suppress(Exception):
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def percentile(values, fraction):
    """The value below which `fraction` of `values` lie (nearest rank); None for none."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]
