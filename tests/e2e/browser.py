"""A real headless Chromium for the dashboard's tests, driven by Selenium from Trio.

Debian's ``chromium`` and ``chromium-driver`` (``.ci/system-packages.txt``); the driver is
named explicitly, because Selenium Manager would try to download one. Every Selenium call
blocks, and the controller under test runs on this very Trio loop: so each call runs in a
worker thread (``run``), leaving the loop free to serve the browser's requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import trio
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 20.0
"""Seconds an explicit wait may take (a ceiling, never a measurement)."""

T = TypeVar("T")


def start_browser(width: int = 1400, height: int = 1000) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


async def run(call: Callable[[], T]) -> T:
    """Run one blocking Selenium call off the Trio loop."""
    return await trio.to_thread.run_sync(call)


async def wait_until(driver: WebDriver, condition: Callable[[WebDriver], Any]) -> Any:
    """Wait (at most ``WAIT`` seconds) until ``condition(driver)`` is truthy; return it."""
    wait = WebDriverWait(driver, WAIT, poll_frequency=0.1)
    return await run(lambda: wait.until(condition))
