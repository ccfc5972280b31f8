"""A minimal W3C WebDriver client for chromedriver (stdlib only), plus Chrome DevTools commands through it.

Chromium and chromedriver come from Debian (`apt-get install -y chromium chromium-driver`);
nothing is downloaded at run time.
"""
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from ops.local_stack.postgres import free_port

INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def find_browser():
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class WebDriverError(RuntimeError):
    pass


class Browser:
    """One headless Chromium session driven through chromedriver."""

    def __init__(self, browser, driver):
        self.profile = tempfile.mkdtemp(prefix="analytics-chromium-")
        self.port = free_port()
        self.driver = subprocess.Popen([driver, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                self._call("GET", "/status")
                break
            except (OSError, WebDriverError):
                if time.monotonic() > deadline:
                    self.driver.kill()
                    raise
                time.sleep(0.1)
        capabilities = {"browserName": "chrome", "goog:chromeOptions": {
            "binary": browser, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}"]}}
        self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})["sessionId"]

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as error:
            raise WebDriverError(f"{method} {path}: {error.read()[:500]!r}") from None

    def command(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url):
        self.command("POST", "/url", {"url": url})

    def refresh(self):
        self.command("POST", "/refresh", {})

    def script(self, source, *args):
        return self.command("POST", "/execute/sync", {"script": source, "args": list(args)})

    def click(self, css):
        element = self.command("POST", "/element", {"using": "css selector", "value": css})
        element_id = next(iter(element.values()))
        self.command("POST", f"/element/{element_id}/click", {})

    def cdp(self, cmd, **params):
        """A Chrome DevTools Protocol command (e.g. Network.emulateNetworkConditions)."""
        return self.command("POST", "/goog/cdp/execute", {"cmd": cmd, "params": params})

    def offline(self, offline):
        self.cdp("Network.enable")
        self.cdp("Network.emulateNetworkConditions", offline=offline, latency=0, downloadThroughput=-1, uploadThroughput=-1)

    def new_tab(self):
        handle = self.command("POST", "/window/new", {"type": "tab"})["handle"]
        return handle

    def switch_to(self, handle):
        self.command("POST", "/window", {"handle": handle})

    def window(self):
        return self.command("GET", "/window")

    def close_tab(self):
        return self.command("DELETE", "/window")

    def quit(self):
        try:
            self.command("DELETE", "")
        except Exception:
            pass
        self.driver.terminate()
        try:
            self.driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.driver.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
