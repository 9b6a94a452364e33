"""The associate console (/associates) in real Chromium against a real server: requests
appear live with ticking wait times; a claim opens the room view with the cart and chat,
a quick reply and a recommended product reach the shopper, the shopper's room sees who
helps; a lost race shows "taken"; the console survives a node restart (the stream
resumes with Last-Event-ID and a request raised meanwhile appears); the phone layout has
no sideways scroll; a revoked token is refused with a clear message."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from playwright.async_api import Page, expect

from cosession_client import RoomClient
from protocol.messages import HelpRequest, Product
from tests.browser.a11y import serious_violations
from tests.browser.conftest import PHONE, Browsers, artifact
from tests.conftest import ServerFactory
from tests.support.admin import make_tenant, new_room, poll, sk
from tests.support.server import ServerProcess

TABLET = {"viewport": {"width": 1024, "height": 768}, "device_scale_factor": 1, "has_touch": True}
SHOE = Product(id="trail", name="Trail shoe", price=8990, currency="EUR")


async def server_with(factory: ServerFactory, **settings: str) -> ServerProcess:
    """A server with ``COSESSION_<SETTING>`` overrides (killed by the fixture at the end)."""
    workdir = factory.root / f"srv{len(factory.started)}"
    workdir.mkdir()
    proc = ServerProcess(workdir, env={f"COSESSION_{k.upper()}": v for k, v in settings.items()})
    factory.started.append(proc)
    await proc.start()
    return proc


async def associate(server: ServerProcess, key: str, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        r = await http.post("/v1/tenant/associates", json={"name": name}, headers=sk(key))
        assert r.status_code in (200, 201), r.text
        data: dict[str, Any] = r.json()
        assert data["token"].startswith("at_")
        return data


async def shop(server: ServerProcess) -> tuple[dict[str, str], dict[str, Any]]:
    tenant = await make_tenant(f"sqlite:///{server.db}")
    room = await new_room(server.http_url, tenant["sk"], "Ana's shoes", "Ana")
    return tenant, room


async def sign_in(page: Page, server: ServerProcess, token: str) -> None:
    await page.goto(server.http_url + "/associates")
    await page.get_by_label("Associate token").fill(token)
    await page.get_by_test_id("login").click()
    await expect(page.get_by_test_id("console-heading")).to_be_focused()
    await expect(page.get_by_test_id("stream-status")).to_have_text("Queue live")


def queue_item(page: Page, room_name: str) -> Any:
    return page.locator("[data-testid=queue-item]", has=page.get_by_text(room_name, exact=True))


@asynccontextmanager
async def shopper(server: ServerProcess, token: str) -> AsyncIterator[RoomClient]:
    async with RoomClient.connect(token, server=server.http_url) as client:
        yield client


async def test_console_lists_live_claims_and_helps_in_the_room(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory()
    tenant, room = await shop(server)
    sam = await associate(server, tenant["sk"], "Sam")
    _, page = await browsers.new_page("console", bypass_csp=True, **TABLET)  # axe is an inline script
    await sign_in(page, server, sam["token"])
    await expect(page.get_by_test_id("queue-empty")).to_be_visible()

    async with shopper(server, room["token"]) as ana:
        await ana.add_to_cart(SHOE, 1)
        await ana.submit(HelpRequest(where="in_store", department="Shoes", note="Size 42?"))

        # the request appears live with its context, and its wait time ticks
        item = queue_item(page, "Ana's shoes")
        await expect(item).to_be_visible()
        await expect(item.get_by_test_id("queue-details")).to_contain_text("In store: Shoes")
        await expect(item.get_by_test_id("queue-details")).to_contain_text("Size 42?")
        await expect(item.get_by_test_id("queue-details")).to_contain_text("1 line in the cart")
        await expect(item.get_by_test_id("wait")).to_have_text(re.compile(r"^waiting \d+ sec$"))
        first = await item.get_by_test_id("wait").text_content()
        await expect(item.get_by_test_id("wait")).not_to_have_text(first or "")
        announce = page.locator("[data-testid=console] > [data-testid=announce]")
        await expect(announce).to_have_text("New request: Ana's shoes")
        assert await serious_violations(page) == []
        await page.screenshot(path=artifact("console-queue-tablet.png"))

        # claim: the room view shows the cart and chat; focus on the room's heading
        await item.get_by_role("button", name="Help Ana's shoes").click()
        room_view = page.get_by_test_id("console-room")
        await expect(room_view).to_be_visible()
        await expect(room_view.get_by_test_id("room-name")).to_be_focused()
        await expect(room_view.get_by_test_id("status")).to_have_text("Live")
        await expect(room_view.locator('[data-testid=cart-line][data-product="trail"]')).to_be_visible()
        await expect(page.get_by_test_id("active-room")).to_have_count(1)
        await expect(queue_item(page, "Ana's shoes")).to_have_count(0)
        assert await serious_violations(page) == []

        # the room sees who helps
        await poll(lambda: _claimed_by(ana, "Sam"), timeout=10)

        # a quick reply reaches the shopper
        await room_view.get_by_test_id("quick-reply").first.click()
        await poll(lambda: _chat_with(ana, "Hi, I’m Sam from the store. How can I help?"), timeout=10)  # noqa: RUF001
        await ana.chat("Do you have it in blue?")
        await room_view.get_by_role("tab", name=re.compile("Chat")).click()
        await expect(room_view.get_by_test_id("chat")).to_contain_text("Do you have it in blue?")

        # catalog search, then a product card pushed to the room
        await room_view.get_by_label("Search the catalog").fill("shoe")
        await room_view.get_by_test_id("search").click()
        result = room_view.get_by_test_id("search-result").first
        await expect(result).to_be_visible()
        product = await result.get_attribute("data-product")
        await result.get_by_test_id("send-card").click()
        await poll(lambda: _card(ana, product), timeout=10)
        await expect(announce).to_have_text("Sent to the room")
        await page.screenshot(path=artifact("console-room-tablet.png"))

        # close: the room sees it closed, the console is back on the queue
        await room_view.get_by_test_id("close-request").click()
        await poll(lambda: _closed(ana), timeout=10)
        await expect(page.get_by_test_id("console-room")).to_have_count(0)
        await expect(page.get_by_test_id("active-empty")).to_be_visible()


async def _claimed_by(client: RoomClient, name: str) -> bool | None:
    return any(r.state == "claimed" and r.associate_name == name for r in client.state.help) or None


async def _chat_with(client: RoomClient, text: str) -> bool | None:
    return any(m.text == text for m in client.state.chat) or None


async def _card(client: RoomClient, product: str | None) -> bool | None:
    return any(m.product is not None and m.product.id == product for m in client.state.chat) or None


async def _closed(client: RoomClient) -> bool | None:
    return (bool(client.state.help) and all(r.state == "closed" for r in client.state.help)) or None


async def test_a_lost_claim_says_taken_and_leaves_the_list(server_factory: ServerFactory, browsers: Browsers) -> None:
    server = await server_factory()
    tenant, room = await shop(server)
    sam = await associate(server, tenant["sk"], "Sam")
    kim = await associate(server, tenant["sk"], "Kim")
    _, page = await browsers.new_page("console", **TABLET)
    await sign_in(page, server, sam["token"])
    async with shopper(server, room["token"]) as ana:
        seq = await ana.submit(HelpRequest(where="online"))
        item = queue_item(page, "Ana's shoes")
        await expect(item).to_be_visible()
        # the console stops listening, so it still shows the request when Kim wins it
        await page.evaluate("() => window.__cosessionConsole.stream.stop()")
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            r = await http.post(
                f"/v1/associates/requests/{room['room']}:{seq}/claim",
                json={},
                headers={"authorization": f"Bearer {kim['token']}"},
            )
            assert r.status_code == 200, r.text
        await item.get_by_test_id("claim").click()
        await expect(page.get_by_test_id("notice")).to_have_text("Taken by someone else")
        await expect(item).to_have_count(0)
        await expect(page.get_by_test_id("console-room")).to_have_count(0)


async def test_console_survives_a_node_restart(server_factory: ServerFactory, browsers: Browsers) -> None:
    server = await server_factory()
    tenant, room = await shop(server)
    other = await new_room(server.http_url, tenant["sk"], "Ben's jackets", "Ben")
    third = await new_room(server.http_url, tenant["sk"], "Cy's hats", "Cy")
    sam = await associate(server, tenant["sk"], "Sam")
    _, page = await browsers.new_page("console", **TABLET)
    await sign_in(page, server, sam["token"])
    async with shopper(server, room["token"]) as ana, shopper(server, other["token"]) as ben:
        await ana.submit(HelpRequest(where="online", note="before"))
        await expect(queue_item(page, "Ana's shoes")).to_be_visible()

        server.kill()  # a crash: the stream breaks
        await expect(page.get_by_test_id("stream-status")).to_have_text("Reconnecting to the queue…")
        raised = asyncio.create_task(ben.submit(HelpRequest(where="online", note="during the outage"), timeout=60))
        await server.start()
        await raised  # sent by Ben's client once the node is back
        await expect(page.get_by_test_id("stream-status")).to_have_text("Queue live", timeout=30_000)
        await expect(queue_item(page, "Ben's jackets")).to_be_visible(timeout=30_000)
        await expect(queue_item(page, "Ana's shoes")).to_have_count(1)
        # and it keeps following: a later request appears too
        async with shopper(server, third["token"]) as cy:
            await cy.submit(HelpRequest(where="online"))
            await expect(queue_item(page, "Cy's hats")).to_be_visible()
        await expect(page.get_by_test_id("queue-item")).to_have_count(3)


async def test_phone_layout_one_column_without_sideways_scroll(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory()
    tenant, room = await shop(server)
    sam = await associate(server, tenant["sk"], "Sam")
    _, page = await browsers.new_page("phone", **PHONE)
    await sign_in(page, server, sam["token"])
    async with shopper(server, room["token"]) as ana:
        await ana.submit(HelpRequest(where="in_store", department="Shoes", note="A rather long note " * 8))
        item = queue_item(page, "Ana's shoes")
        await expect(item).to_be_visible()
        assert await page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
        await page.screenshot(path=artifact("console-queue-360.png"))
        box = await item.get_by_test_id("claim").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 360 and box["height"] >= 34
        await item.get_by_test_id("claim").click()
        room_view = page.get_by_test_id("console-room")
        await expect(room_view).to_be_visible()
        await expect(page.get_by_test_id("queue-pane")).to_be_hidden()  # one column
        assert await page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
        await page.screenshot(path=artifact("console-room-360.png"))
        await room_view.get_by_test_id("back").click()
        await expect(page.get_by_test_id("queue-pane")).to_be_visible()
        await expect(page.locator("#cs-queue-h")).to_be_focused()


async def test_revoked_token_is_refused_with_a_clear_message(server_factory: ServerFactory, browsers: Browsers) -> None:
    # the stream checks the associate at each heartbeat: every second here
    server = await server_with(server_factory, help_heartbeat_seconds="1")
    tenant, _ = await shop(server)
    sam = await associate(server, tenant["sk"], "Sam")
    kim = await associate(server, tenant["sk"], "Kim")
    _, page = await browsers.new_page("console", **TABLET)
    revoked = "This associate token was revoked or has expired. Ask your store for a new one."
    error = page.get_by_test_id("login-error")

    # revoked while signed in: the stream ends, its reconnect is refused, the form says why
    await sign_in(page, server, sam["token"])
    await revoke(server, tenant["sk"], sam["associate"])
    await expect(error).to_have_text(revoked, timeout=20_000)
    await expect(page.get_by_test_id("console")).to_have_count(0)
    await expect(page.get_by_label("Associate token")).to_be_focused()
    assert await page.evaluate("() => sessionStorage.getItem('cosession:associate')") is None
    # typing it in again: the same message
    await page.get_by_label("Associate token").fill(sam["token"])
    await page.get_by_test_id("login").click()
    await expect(error).to_have_text(revoked)

    # revoked while the tab was away: a reload resumes from sessionStorage and is refused
    await sign_in(page, server, kim["token"])
    await page.goto("about:blank")
    await revoke(server, tenant["sk"], kim["associate"])
    await page.goto(server.http_url + "/associates")
    await expect(error).to_have_text(revoked)
    assert await page.evaluate("() => sessionStorage.getItem('cosession:associate')") is None

    # a token of the wrong kind is refused before asking
    await page.get_by_label("Associate token").fill("sk_not_an_associate_token")
    await page.get_by_test_id("login").click()
    await expect(error).to_have_text("This is not an associate token (they start with at_).")


async def revoke(server: ServerProcess, key: str, associate_id: str) -> None:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        r = await http.delete(f"/v1/tenant/associates/{associate_id}", headers=sk(key))
        assert r.status_code in (200, 204), r.text


async def test_an_unclaimed_request_shows_its_escalation_and_goes_first(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_with(server_factory, help_escalate_seconds="2", help_sweep_seconds="0.2")
    tenant, room = await shop(server)
    later = await new_room(server.http_url, tenant["sk"], "Ben's jackets", "Ben")
    sam = await associate(server, tenant["sk"], "Sam")
    _, page = await browsers.new_page("console", **TABLET)
    await sign_in(page, server, sam["token"])
    async with shopper(server, room["token"]) as ana:
        await ana.submit(HelpRequest(where="online"))
        item = queue_item(page, "Ana's shoes")
        await expect(item.get_by_test_id("level")).to_have_text("Escalated (level 1)", timeout=15_000)
        async with shopper(server, later["token"]) as ben:
            await ben.submit(HelpRequest(where="online"))
            await expect(page.get_by_test_id("queue-item")).to_have_count(2)
            # most escalated first (Ana's is older too; Ben's is not escalated yet)
            await expect(page.get_by_test_id("queue-room").first).to_have_text("Ana's shoes")
            assert await page.get_by_test_id("queue-item").first.get_attribute("data-level") != "0"
