"""The dashboard in a real headless Chromium: sign in, watch a spawn, a restart, a delete.

The browser talks to a controller on kubesim over real HTTP and WebSocket, as an operator's
would. Waits are explicit and bounded; nothing here measures time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.browser import run, start_browser, wait_until
from tests.e2e.harness import RunningController
from tests.e2e.resilience_support import finished_events, spawn_body
from tests.e2e.spawner_client import demo_token

DEADLINE = 90


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = start_browser()
    try:
        yield driver
    finally:
        driver.quit()


async def _sign_in(browser: WebDriver, nublado: RunningController) -> None:
    base = f"{nublado.url}{nublado.prefix}/admin/"
    await run(browser.delete_all_cookies)
    await run(lambda: browser.get(base))
    await wait_until(browser, lambda d: d.current_url.endswith("/admin/login"))
    await run(lambda: browser.find_element(By.ID, "token").send_keys(demo_token("admin")))
    await run(lambda: browser.find_element(By.ID, "sign-in").click())
    await wait_until(browser, lambda d: d.find_element(By.ID, "connection").text == "live")
    who = await run(lambda: browser.find_element(By.ID, "who").text)
    assert "signed in as admin" in who


def _row(user: str) -> str:
    return f'#viewport .tr[data-user="{user}"]:not([hidden])'


def _progress(driver: WebDriver, user: str) -> tuple[str, str, str] | None:
    rows = driver.find_elements(By.CSS_SELECTOR, _row(user))
    if not rows:
        return None
    bar = rows[0].find_element(By.CSS_SELECTOR, ".bar")
    return (
        rows[0].get_attribute("data-status") or "",
        bar.get_attribute("aria-valuenow") or "",
        rows[0].get_attribute("data-outcome") or "",
    )


async def _spawn(nublado: RunningController, user: str, *, wait: bool = True) -> None:
    async with nublado.client(user) as client:
        url = f"{nublado.prefix}/spawner/v1/labs/{user}/create"
        created = await client.post(url, json=spawn_body(nublado, user))
        assert created.status_code == 201, created.text
        if wait:
            assert (await finished_events(client, nublado.prefix, user))[-1].type == "complete"


async def test_sign_in_and_watch_a_spawn_reach_complete(
    nublado: RunningController, browser: WebDriver
) -> None:
    with trio.fail_after(DEADLINE):
        await _sign_in(browser, nublado)
        # The kubelet holds the pod: the spawn stays in flight, partway, until released.
        nublado.site.faults.kubelet_frozen = True
        await _spawn(nublado, "alice", wait=False)
        # The row may first show the spawn before its first progress event; it then stays
        # partway for as long as the kubelet holds the pod.
        status, value, outcome = await wait_until(
            browser, lambda d: (p := _progress(d, "alice")) and p[1] not in ("", "0") and p
        )
        assert status == "pending"
        assert 0 < int(value) < 100
        assert outcome == ""
        nublado.site.faults.kubelet_frozen = False
        # The row's outcome, status and bar arrive in separate coalesced updates (the
        # event stream's end, then the directory's next summary): wait for all three.
        final = ("running", "100", "complete")
        done = await wait_until(
            browser, lambda d: (p := _progress(d, "alice")) and p[2] == "complete" and p
        )
        if done != final:
            done = await wait_until(browser, lambda d: _progress(d, "alice") == final and final)
        assert done == final
        message = await run(
            lambda: browser.find_element(By.CSS_SELECTOR, f"{_row('alice')} .msg").text
        )
        assert message == "Lab Kubernetes pod started for alice"
        counts = await run(lambda: browser.find_element(By.ID, "n-running").text)
        assert counts == "1"


async def test_an_actor_restart_shows_in_the_tree(
    nublado: RunningController, browser: WebDriver
) -> None:
    with trio.fail_after(DEADLINE):
        await _spawn(nublado, "alice")
        await _sign_in(browser, nublado)
        node = '#tree li.node[data-name="lab/alice"]'
        await wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, node))
        assert not await run(lambda: browser.find_elements(By.CSS_SELECTOR, f"{node}.restarted"))
        # The API server answers the lab's next pod read with garbage: the actor crashes on
        # it and its supervisor restarts it (the same fault as the resilience tests).
        nublado.site.faults.add_corruption(verb="get", resource="pods", count=1)
        async with nublado.client("alice") as alice:
            url = f"{nublado.prefix}/spawner/v1/labs/alice/create"
            crashed = await alice.post(url, json=spawn_body(nublado, "alice"))
            assert crashed.status_code == 500
        restarted = await wait_until(
            browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{node}.restarted")
        )
        text = await run(lambda: restarted[0].text)
        assert "restarts 1" in text
        assert "ValidationError" in text


async def test_delete_a_lab_after_confirming(
    nublado: RunningController, browser: WebDriver
) -> None:
    with trio.fail_after(DEADLINE):
        await _spawn(nublado, "alice")
        await _spawn(nublado, "bob")
        await _sign_in(browser, nublado)
        row = await wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, _row("alice")))
        await run(row[0].click)
        detail = await wait_until(
            browser,
            lambda d: "Kubernetes objects" in (t := d.find_element(By.ID, "lab-detail").text) and t,
        )
        assert "alice-nb" in detail
        assert "Running" in detail
        assert "Starting lab creation for alice" in detail
        await run(lambda: browser.find_element(By.ID, "delete-lab").click())
        confirm = await run(lambda: browser.find_element(By.ID, "confirm-delete"))
        assert await run(confirm.is_displayed)
        # Cancelling deletes nothing.
        await run(lambda: browser.find_element(By.ID, "confirm-delete-no").click())
        assert not await run(confirm.is_displayed)
        await run(lambda: browser.find_element(By.ID, "delete-lab").click())
        await run(lambda: browser.find_element(By.ID, "confirm-delete-yes").click())
        await wait_until(
            browser,
            lambda d: d.find_element(By.ID, "delete-status").text == "Deleted the lab of alice.",
        )
        await run(lambda: browser.find_element(By.CSS_SELECTOR, "#lab-dialog button").click())
        await wait_until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, _row("alice")))
        assert await run(lambda: browser.find_elements(By.CSS_SELECTOR, _row("bob")))
        async with nublado.client("hub") as hub:
            gone = await hub.get(f"{nublado.prefix}/spawner/v1/labs/alice")
            assert gone.status_code == 404
