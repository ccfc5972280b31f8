"""The tracker's known traps, each in a real Chromium: the unload budget, the capped queue, a wrong device clock."""
import contextlib
from datetime import datetime, timedelta, timezone

import psycopg2

from conftest import stored
from ops.local_stack.collector_server import LOCAL_WRITE_KEY

BUDGET = 60_000  # bytes: under the ~64 KB that Chromium allows for all of a page's keepalive/beacon requests together


def open_trap_page(browser, pages, collector, query="", **options):
    browser.get(f"{pages}/trap.html{query}")
    settings = {"endpoint": collector, "writeKey": LOCAL_WRITE_KEY, "app": "trap-test", **options}
    browser.script("localStorage.clear(); analytics.init(arguments[0]);", settings)


def test_unload_sends_stay_under_the_keepalive_budget_and_what_is_left_waits(browser, site):
    # GIVEN 150 events of about 1.2 KB queued (nothing sent yet: a long delay, a large batch size)
    pages, collector, stack = site
    open_trap_page(browser, pages, collector, batchSize=1000, flushInterval=600_000)
    ids = browser.script(
        "var ids = []; for (var i = 0; i < 150; i++) ids.push(analytics.track('big', {pad: 'x'.repeat(1100), n: i}));"
        "return ids;"
    )
    # WHEN the page goes away (pagehide), with sendBeacon watched
    beacons = browser.script(
        "var calls = [], real = navigator.sendBeacon.bind(navigator);"
        "navigator.sendBeacon = function (url, body) { var ok = real(url, body);"
        "  calls.push({bytes: new Blob([body]).size, ok: ok, events: JSON.parse(body).map(function (e) { return e.event_id; })});"
        "  return ok; };"
        "dispatchEvent(new Event('pagehide')); return calls;"
    )
    # THEN the beacons together stay under the budget, the browser took each, and every event is still stored locally
    assert beacons and all(call["ok"] for call in beacons)
    assert sum(call["bytes"] for call in beacons) <= BUDGET
    beaconed = [event_id for call in beacons for event_id in call["events"]]
    assert 0 < len(beaconed) < 150
    assert browser.script("return analytics.stats().queued") == 150
    # AND the beaconed ones reach the database, once each
    rows = stored(stack, beaconed)
    assert sorted(rows) == sorted(beaconed) and set(rows.values()) == {1}
    # AND a new page load sends the rest (and the beaconed ones again: the worker keeps one copy)
    browser.get(f"{pages}/trap.html")
    browser.script("analytics.init(arguments[0]);", {"endpoint": collector, "writeKey": LOCAL_WRITE_KEY, "app": "trap-test"})
    rows = stored(stack, ids)
    assert sorted(rows) == sorted(ids) and set(rows.values()) == {1}


def test_a_blocked_collector_never_fills_local_storage(browser, site):
    # GIVEN a collector the page cannot reach, and a queue capped at 50
    pages, collector, stack = site
    open_trap_page(browser, pages, "http://127.0.0.1:9", maxQueue=50, flushInterval=600_000, batchSize=1000)
    # WHEN 80 events are tracked
    ids = browser.script("var ids = []; for (var i = 0; i < 80; i++) ids.push(analytics.track('e', {n: i})); return ids;")
    stats = browser.script("return analytics.stats()")
    kept = browser.script(f"return JSON.parse(localStorage.getItem('analytics:{LOCAL_WRITE_KEY}')).map(function (e) {{ return e.event_id; }})")
    # THEN the newest 50 are kept, the oldest 30 dropped and counted
    assert stats["queued"] == 50 and stats["dropped"] == 30
    assert kept == ids[30:]
    # AND when localStorage is full, tracking still works and the host page gets no exception
    outcome = browser.script(
        "var junk = 'x'.repeat(1 << 20), i = 0;"
        "try { for (;;) localStorage.setItem('junk' + i++, junk); } catch (e) {}"
        "try { var id = analytics.track('after_full', {}); return {ok: true, id: id}; } catch (e) { return {ok: false, error: String(e)}; }"
    )
    assert outcome["ok"], outcome


def test_a_wrong_device_clock_is_corrected_and_the_original_kept(browser, site):
    # GIVEN a page whose clock is 2 hours behind
    pages, collector, stack = site
    open_trap_page(browser, pages, collector, query="?skew=-7200", flushInterval=100)
    # WHEN it tracks an event and sends it (sent_at from the same wrong clock)
    event_id = browser.script("return analytics.track('clock_test', {})")
    rows = stored(stack, [event_id])
    assert rows == {event_id: 1}
    with contextlib.closing(psycopg2.connect(stack.values["admin_database_url"])) as connection, connection.cursor() as cursor:
        cursor.execute(f'SELECT event_timestamp, extra FROM "{stack.spec.schema}".events WHERE event_id = %s', (event_id,))
        timestamp, extra = cursor.fetchone()
    # THEN the stored timestamp is the real time; the device's own is kept in extra.collector
    now = datetime.now(timezone.utc)
    assert abs(timestamp - now) < timedelta(minutes=2), timestamp
    original = datetime.fromisoformat(extra["collector"]["original_event_timestamp"].replace("Z", "+00:00"))
    assert abs((timestamp - original) - timedelta(hours=2)) < timedelta(seconds=30)
    assert abs(extra["collector"]["clock_offset_ms"] - 7_200_000) < 30_000
