"""The tracker backs off when the collector says 429 / 503 with Retry-After, and keeps the events until a 202."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ops.local_stack.collector_server import LOCAL_WRITE_KEY


class StubCollector(BaseHTTPRequestHandler):
    """Answers the first POSTs with 429 / 503 and Retry-After: 2, then 202; records when each request came."""

    answers = []
    seen = []  # (seconds since start, status answered, event count)

    def _cors(self):
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
        self.send_header("Access-Control-Expose-Headers", "Retry-After")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.answers.pop(0) if self.answers else 202
        self.seen.append((time.monotonic(), status, len(json.loads(body))))
        self.send_response(status)
        self._cors()
        if status != 202:
            self.send_header("Retry-After", "2")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    StubCollector.answers, StubCollector.seen = [429, 503], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubCollector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", StubCollector.seen
    server.shutdown()
    server.server_close()


def test_429_and_503_with_retry_after_are_honoured_and_nothing_is_dropped(browser, site, stub):
    # GIVEN a collector that answers 429, then 503, each with Retry-After: 2, then 202
    pages, _, _ = site
    url, seen = stub
    browser.get(f"{pages}/trap.html")
    browser.script("localStorage.clear(); analytics.init(arguments[0]);",
                   {"endpoint": url, "writeKey": LOCAL_WRITE_KEY, "app": "backoff-test", "flushInterval": 50})
    # WHEN the page tracks 3 events
    browser.script("for (var i = 0; i < 3; i++) analytics.track('e', {n: i});")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(status == 202 for _, status, _ in seen):
        time.sleep(0.1)
    stats = browser.script("return analytics.stats()")
    # THEN it tried three times, waiting at least the 2 s asked for before each retry, and the events left the queue only after the 202
    assert [status for _, status, _ in seen] == [429, 503, 202]
    gaps = [later - earlier for (earlier, _, _), (later, _, _) in zip(seen, seen[1:])]
    assert all(gap >= 1.9 for gap in gaps), gaps
    assert [count for _, _, count in seen] == [3, 3, 3]
    assert stats["queued"] == 0 and not stats.get("rejected") and not stats.get("dropped")
