"""Asking a store associate for help on the phone room page, in Chromium: keyboard only,
the request's state, "Mia (associate) is helping" once an associate claims it (announced),
and closing it; axe finds no serious violation with the form open."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from cosession_client import RoomClient
from tests.browser.a11y import press, serious_violations, tab_to
from tests.browser.conftest import PHONE, Browsers, artifact
from tests.browser.test_checkout_ui import RECORD_ANNOUNCEMENTS
from tests.support.admin import make_tenant, new_room
from tests.support.help import claim, new_associate, queue
from tests.support.server import ServerProcess


async def test_ask_for_help_see_the_associate_and_close(server: ServerProcess, browsers: Browsers) -> None:
    tenant = await make_tenant(f"sqlite:///{server.db}")
    room: dict[str, Any] = await new_room(server.http_url, tenant["sk"], "Shoe hunt", owner="Olga")
    mia = await new_associate(server.http_url, tenant["sk"], "Mia")
    _, phone = await browsers.new_page("phone", bypass_csp=True, **PHONE)  # axe is injected
    await phone.goto(room["invite"]["url"])
    await phone.get_by_test_id("join-name").fill("Pat")
    await phone.get_by_test_id("join").click()
    await expect(phone.get_by_test_id("status")).to_have_text("Live")
    await phone.evaluate(RECORD_ANNOUNCEMENTS)

    # keyboard only: open the form, choose "In store", type the department, send
    await tab_to(phone, "help-ask")
    opened = await press(phone, "Enter")
    assert opened["testid"] == "help-online", opened
    await expect(phone.get_by_test_id("help-ask")).to_have_attribute("aria-expanded", "true")
    assert await serious_violations(phone) == []
    await phone.screenshot(path=artifact("help-form.png"))
    chosen = await press(phone, "ArrowLeft")
    assert chosen["testid"] == "help-in_store", chosen
    await tab_to(phone, "help-department")
    await phone.keyboard.type("Shoes")
    await press(phone, "Enter")
    status = phone.get_by_test_id("help-status")
    await expect(status).to_have_text("Waiting for a store associate (in store: Shoes)")
    await expect(phone.get_by_test_id("help-ask")).to_be_hidden()

    # an associate claims it: the page says who is helping, and announces it
    [item] = (await queue(server.http_url, mia["token"]))["requests"]
    assert (item["where"], item["department"], item["room_name"]) == ("in_store", "Shoes", "Shoe hunt")
    r = await claim(server.http_url, mia["token"], item["id"])
    assert r.status_code == 200, r.text
    async with RoomClient.connect(r.json()["token"], server=server.http_url) as helper:
        assert helper.role == "associate"
        await helper.chat("Hi Pat, I'm on my way to Shoes")
        await expect(status).to_have_text("Mia (associate) is helping")
        await phone.wait_for_function("() => window.__said.some((s) => s.includes('Mia (associate) is helping'))")
        await phone.screenshot(path=artifact("help-claimed.png"))
        # done: close it from the page, by keyboard
        close = phone.get_by_test_id("help-close")
        await expect(close).to_have_text("Close the help request")
        await tab_to(phone, "help-close")
        await press(phone, "Enter")
        await expect(status).to_be_hidden()
        await expect(phone.get_by_test_id("help-ask")).to_be_visible()
        async with httpx.AsyncClient() as http:
            q = await http.get(
                server.http_url + "/v1/associates/queue", headers={"authorization": f"Bearer {mia['token']}"}
            )
        assert q.json()["requests"] == []
    assert await serious_violations(phone) == []
