"""Fixtures of the browser tests: headless Chromium (Debian's packages), the local stack with its collector,
and a static server on another origin for the pages (so every request the tracker makes is cross-origin, as on a real site)."""
import contextlib
import io
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import pytest

from ops.functions import ROOT
from ops.local_stack.stack import LocalStack
from webdriver import INSTALL, Browser, find_browser

PAGES = {  # path on the static server -> file
    "/demo.html": ROOT / "collector" / "js" / "demo.html",
    "/analytics.js": ROOT / "collector" / "js" / "analytics.js",
    "/trap.html": Path(__file__).parent / "pages" / "trap.html",
    "/blank.html": Path(__file__).parent / "pages" / "blank.html",
}


@pytest.fixture(scope="module")
def browser_paths():
    found = find_browser()
    if found is None:
        pytest.skip(f"Chromium and chromedriver are not installed: {INSTALL}")
    return found


@pytest.fixture
def browser(browser_paths):
    running = Browser(*browser_paths)
    yield running
    running.quit()


class _Pages(SimpleHTTPRequestHandler):
    def do_GET(self):
        path = PAGES.get(self.path.split("?")[0])
        if path is None:
            self.send_error(404)
            return
        payload = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript" if path.suffix == ".js" else "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def site(migrated_db, tmp_path):
    """(pages base URL, collector URL, the local stack): the stack drains on demand (see `stored`)."""
    stack = LocalStack(port=0, database_url=migrated_db.url, data_dir=tmp_path, named=False, out=io.StringIO(),
                       collector_port=0)
    stack.start()
    pages = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=pages.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{pages.server_address[1]}", stack.values["collector_url"], stack
    finally:
        pages.shutdown()
        pages.server_close()
        stack.stop()


def stored(stack, event_ids, timeout_seconds=90):
    """Drain the queue into Postgres until every id is stored (or time is up); {event_id: rows} of those ids."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        stack.drain_once()
        counts = rows_by_id(stack, event_ids)
        if set(counts) >= set(event_ids) or time.monotonic() > deadline:
            stack.drain_once()  # a late duplicate would show now
            return rows_by_id(stack, event_ids)
        time.sleep(0.5)


def rows_by_id(stack, event_ids):
    with contextlib.closing(psycopg2.connect(stack.values["admin_database_url"])) as connection, connection.cursor() as cursor:
        cursor.execute(f'SELECT event_id, count(*) FROM "{stack.spec.schema}".events WHERE event_id = ANY(%s) GROUP BY 1',
                       (list(event_ids),))
        return dict(cursor.fetchall())


def wait_until(check, timeout_seconds=30, every=0.25):
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
