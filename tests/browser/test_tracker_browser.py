"""Must show: the demo page in a real headless Chromium against the local collector; every event it created is stored once.

The page sits on one origin and the collector on another (CORS, as on a real site). The test clicks,
reloads mid-batch, goes offline (DevTools network emulation) and back, and closes the tab right after
a burst of clicks; then every event_id the page recorded as created is in `events` exactly once.
"""
import time

from conftest import stored, wait_until


def created_ids(browser):
    return browser.script("return JSON.parse(localStorage.getItem('demo:created') || '[]')")


def queued(browser):
    return browser.script("return analytics.stats().queued")


def test_every_event_the_page_created_is_stored_exactly_once(browser, site):
    pages, collector, stack = site
    # GIVEN the demo page, pointed at the local collector on another origin
    browser.get(f"{pages}/demo.html?endpoint={collector}")
    # WHEN clicking (the page view on load plus four clicks), and letting the tracker send
    browser.click("#signup")
    for _ in range(3):
        browser.click("#add_to_cart")
    assert wait_until(lambda: queued(browser) == 0), "the first clicks were not sent"
    # AND reloading in the middle of a batch (25 events: 20 go at once, 5 wait for the delay)
    browser.click("#burst")
    browser.refresh()
    assert wait_until(lambda: queued(browser) == 0), "the events left at the reload were not sent after it"
    # AND going offline, clicking, and coming back
    browser.offline(True)
    for _ in range(5):
        browser.click("#checkout")
    time.sleep(2.5)
    offline_queue = queued(browser)
    browser.offline(False)
    assert wait_until(lambda: queued(browser) == 0, timeout_seconds=90), "the events made offline were not sent"
    # AND closing the tab right after another burst
    browser.click("#burst")
    page_tab = browser.window()
    other_tab = browser.new_tab()
    browser.switch_to(page_tab)
    browser.close_tab()
    browser.switch_to(other_tab)
    browser.get(f"{pages}/blank.html")  # the same origin (its localStorage), without the tracker
    created = created_ids(browser)
    # THEN the page created them all, and each is stored exactly once
    assert offline_queue >= 5, "offline, the clicks should have waited in the queue"
    assert len(created) == len(set(created)) == 1 + 4 + 25 + 1 + 5 + 25  # a page view per load (2), clicks, bursts
    rows = stored(stack, created)
    print(f"\ncreated in the page: {len(created)}, stored: {len(rows)} ids, {sum(rows.values())} rows")
    assert sorted(rows) == sorted(created)
    assert set(rows.values()) == {1}
