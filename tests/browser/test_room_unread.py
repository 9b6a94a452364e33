"""A phone's room page in Chromium goes to the background (Page Visibility) during 40
events and comes back (SPEC 15): presence shows it away (not left) meanwhile, its read
cursor stays where the member left, and coming back shows "Since you were here" with the
exact counts and what changed, then the live room; a reload later summarises again."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from playwright.async_api import Page, expect

from cosession_client import RoomClient
from protocol.messages import Product
from tests.browser.a11y import serious_violations
from tests.browser.conftest import DESKTOP, PHONE, Browsers
from tests.conftest import ServerFactory

WAIT = 10.0

# The tab's visibility as the Page Visibility API reports it, then the event the browser
# fires: the room page's own listener and its `document.visibilityState` checks run as
# they would when a phone sends the tab to the background.
SET_VISIBILITY = """(state) => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


async def until(check: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not check():
            await asyncio.sleep(0.02)


async def read_cursor(page: Page) -> int:
    value = await page.evaluate("() => window.__cosession.conn.readCursor")
    return int(value)


def product(i: int) -> Product:
    return Product(id=f"sku-{i}", name=f"Scarf {i}", price=1000 + i, currency="EUR")


async def test_a_backgrounded_phone_is_away_and_comes_back_to_the_summary(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory("--presence-grace", "0.3")
    created = await server.create_room(name="Scarves")
    invite_url = created["invite"]["url"]
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        _, phone = await browsers.new_page("phone", bypass_csp=True, **PHONE)  # (bypass: to inject axe)
        await phone.goto(invite_url)
        await phone.get_by_test_id("join-name").fill("Ben")
        await phone.get_by_test_id("join").click()
        await expect(phone.get_by_test_id("status")).to_have_text("Live")
        ben = await phone.evaluate("() => window.__cosession.conn.member")
        line = await ana.add_to_cart(product(0))
        await expect(phone.locator("[data-testid=cart-line]")).to_have_count(1)
        # the cursor follows what the visible room shows
        async with asyncio.timeout(WAIT):
            while await read_cursor(phone) != line:
                await asyncio.sleep(0.05)
        await expect(phone.get_by_test_id("since")).to_be_hidden()

        await phone.evaluate(SET_VISIBILITY, "hidden")
        await until(lambda: ben in ana.presence and ana.presence[ben].away, "Ben shows as away")
        for i in range(40):  # 10 messages, 20 cart changes, 10 votes (not counted)
            if i % 4 == 0:
                await ana.chat(f"or this one? #{i}")
            elif i % 4 == 1:
                await ana.add_to_cart(product(i))
            elif i % 4 == 2:
                await ana.set_quantity(line, 1 + i % 7)
            else:
                await ana.vote(line, "up" if i % 8 == 3 else "down")
        head = ana.seq
        async with asyncio.timeout(WAIT):
            while await phone.evaluate("() => window.__cosession.conn.state.seq") != head:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.6)  # two presence graces: away, never left
        assert ben in ana.presence and ana.presence[ben].away is True
        assert await read_cursor(phone) == line  # nothing was shown while hidden
        unread = await phone.evaluate("() => window.__cosession.conn.unread")
        assert (unread["messages"], unread["cart"]) == (10, 20)

        await phone.evaluate(SET_VISIBILITY, "visible")
        since = phone.get_by_test_id("since")
        await expect(since).to_be_visible()
        await expect(since.get_by_role("heading")).to_have_text("Since you were here")
        await expect(phone.get_by_test_id("since-summary")).to_have_text("10 new messages, 20 cart changes")
        items = phone.get_by_test_id("since-item")
        await expect(items).to_have_count(6)  # the newest six changes, then "and N more"
        await expect(items.last).to_have_text("Olga added Scarf 37")
        await expect(phone.get_by_test_id("since-more")).to_have_text("and 14 more")  # 10 messages + 10 lines
        await expect(phone.get_by_test_id("announce")).to_contain_text("Since you were here: 10 new messages")
        assert await serious_violations(phone) == []  # axe, with the summary on screen
        await until(lambda: not ana.presence[ben].away, "Ben is back")
        assert await read_cursor(phone) == line  # the summary is not the room yet

        await phone.get_by_test_id("since-continue").click()
        await expect(since).to_be_hidden()
        await expect(phone.get_by_test_id("room-name")).to_be_focused()
        await phone.get_by_role("tab", name=re.compile("Chat")).click()
        await expect(phone.locator("[data-testid=chat-message][data-new=true]")).to_have_count(10)
        async with asyncio.timeout(WAIT):
            while await read_cursor(phone) != head:
                await asyncio.sleep(0.05)

        # hidden again, five more messages, and the page is reloaded: the welcome summarises
        await phone.evaluate(SET_VISIBILITY, "hidden")
        for i in range(5):
            await ana.chat(f"last call {i}")
        await phone.reload()
        await expect(phone.get_by_test_id("status")).to_have_text("Live")
        await expect(phone.get_by_test_id("since-summary")).to_have_text("5 new messages")
        await expect(phone.get_by_test_id("since-item").last).to_have_text(re.compile(r"^Olga: last call 4$"))


async def test_the_widget_launcher_badge_counts_unread_and_opening_shows_the_summary(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory("--demo")
    _, desktop = await browsers.new_page("desktop", **DESKTOP)
    await desktop.goto(server.http_url + "/demo")
    launcher = desktop.get_by_test_id("launcher")
    await launcher.click()
    await desktop.get_by_test_id("start-name").fill("Dana")
    await desktop.get_by_test_id("start").click()
    await expect(desktop.get_by_test_id("status")).to_have_text("Live")
    invite_url = await desktop.get_by_test_id("invite-link").input_value()
    await desktop.get_by_test_id("close").click()  # the panel is closed: nothing is shown
    async with RoomClient.connect(invite_url, name="Pat") as pat:
        badge = desktop.locator("cosession-widget").locator(".cs-badge")
        await expect(badge).to_have_text("1")  # one friend in the room
        await expect(badge).to_have_attribute("data-kind", "friends")
        await pat.chat("which colour?")
        await pat.add_to_cart(product(1))
        await pat.chat("the blue one?")
        await expect(badge).to_have_text("3")
        await expect(badge).to_have_attribute("data-kind", "unread")
        await expect(launcher).to_have_accessible_name(re.compile("3 unread"))

        await launcher.click()  # opening the panel: the summary first, then the room
        await expect(desktop.get_by_test_id("since-summary")).to_have_text("2 new messages, 1 cart change")
        await expect(desktop.get_by_test_id("since-item")).to_have_count(3)
        await desktop.get_by_test_id("since-continue").click()
        await expect(desktop.get_by_test_id("since")).to_be_hidden()
        await expect(badge).to_have_attribute("data-kind", "friends")
        await expect(badge).to_have_text("1")
