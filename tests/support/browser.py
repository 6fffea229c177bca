"""Headless Chromium for page tests: Debian's ``chromium`` driven by Selenium through Debian's
``chromedriver`` (``.ci/install-chromium.sh`` installs both).

Nothing is downloaded: the browser and driver paths are given explicitly, so Selenium Manager is
never asked to fetch anything. Console messages and every network request the page makes are read
from ChromeDriver's browser and performance logs (Chrome DevTools ``Network.requestWillBeSent``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path(os.environ.get("DEFWATCH_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("DEFWATCH_CHROMEDRIVER", "/usr/bin/chromedriver"))

FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions", "--disable-default-apps", "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints", "--metrics-recording-only",
    "--mute-audio", "--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1280,900",
)


class BrowserUnavailable(Exception):
    """Chromium or its driver is missing, or would not start: the reason says which."""


@dataclass
class PageLoad:
    url: str
    console: list[dict] = field(default_factory=list)      # {"level", "message"}
    requests: list[str] = field(default_factory=list)      # every URL the page asked for

    @property
    def console_errors(self) -> list[dict]:
        return [c for c in self.console if c["level"] in ("SEVERE", "ERROR")]


class Browser:
    def __init__(self) -> None:
        for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromedriver")):
            if not path.exists():
                raise BrowserUnavailable(f"{what} not found at {path}: run .ci/install-chromium.sh "
                                         f"(Debian packages chromium and chromium-driver)")
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError as exc:
            raise BrowserUnavailable(f"selenium is not installed ({exc})") from None
        self.profile = tempfile.mkdtemp(prefix="defwatch-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={self.profile}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        opts.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
        try:
            self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
        except Exception as exc:  # noqa: BLE001 — any start failure is a reason to skip
            shutil.rmtree(self.profile, ignore_errors=True)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BrowserUnavailable(f"chromium would not start: {first}") from None
        self.driver.set_page_load_timeout(30)

    def open(self, path: Path) -> PageLoad:
        """Load a local file and return what it logged and requested while loading."""
        # Leave whatever page was open (the start-up tab loads chrome:// resources of its own), then
        # forget everything logged so far: what is collected below is this page's alone.
        self.driver.get("about:blank")
        self._drain()
        url = Path(path).resolve().as_uri()
        self.driver.get(url)
        self.driver.execute_script("return document.readyState")  # the load has finished
        load = PageLoad(url=url)
        self.collect(load)
        return load

    def collect(self, load: PageLoad) -> PageLoad:
        """Add the console messages and requests logged since the last call."""
        for entry in self.driver.get_log("browser"):
            load.console.append({"level": entry.get("level"), "message": entry.get("message")})
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                load.requests.append(msg["params"]["request"]["url"])
        return load

    def _drain(self) -> None:
        self.driver.get_log("browser")
        self.driver.get_log("performance")

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self, out: Path, width: int = 1280, max_height: int = 16000) -> Path:
        """A full-page PNG (DevTools captureScreenshot beyond the viewport)."""
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        height = int(min(size["height"], max_height))
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        try:
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
        return out

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
