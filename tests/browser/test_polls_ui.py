"""Polls on the room page in real Chromium (SPEC 17): one shopper starts a "which one?"
poll from cart lines with the form, two pages vote (one with the keyboard), each sees
the other's vote in the live tally, and at the deadline (the server's test-only minimum
deadline is 1 s) both show the result and the cart without the loser, announced."""

from __future__ import annotations

import time
from typing import Any

from playwright.async_api import Page, expect

from cosession_client import RoomClient
from protocol.messages import Product
from tests.browser.conftest import DESKTOP, PHONE, Browsers
from tests.conftest import ServerFactory

RAIN = Product(id="rain", name="Rain jacket", price=8900, currency="EUR")
WOOL = Product(id="wool", name="Wool jacket", price=15900, currency="EUR")


async def join(browsers: Browsers, url: str, name: str, **options: Any) -> Page:
    _, page = await browsers.new_page(name, **options)
    await page.goto(url)
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join").click()
    await expect(page.get_by_test_id("status")).to_have_text("Live")
    return page


def poll_of(page: Page, question: str) -> Any:
    return page.get_by_test_id("poll").filter(has_text=question)


async def test_two_pages_vote_and_see_the_result_at_the_deadline(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory("--poll-min-deadline-ms", "1000", "--poll-sweep-seconds", "0.3")
    created = await server.create_room("Jackets", owner_name="Ana")
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        rain = await ana.add_to_cart(RAIN)
        wool = await ana.add_to_cart(WOOL)
        url = created["invite"]["url"]
        pat = await join(browsers, url, "Pat", **PHONE)
        kim = await join(browsers, url, "Kim", **DESKTOP)

        # Pat starts a poll with the form (on the phone, the polls live in the Cart tab)
        await pat.get_by_test_id("poll-ask").click()
        await pat.get_by_test_id("poll-question").fill("Which one for Friday?")
        await pat.get_by_role("checkbox", name="Rain jacket").check()
        await pat.get_by_role("checkbox", name="Wool jacket").check()
        await pat.get_by_test_id("poll-outcome").select_option("post_result")
        await pat.get_by_test_id("poll-create").click()
        first = poll_of(kim, "Which one for Friday?")
        await expect(first).to_have_count(1)
        await expect(first.get_by_test_id("poll-meta")).to_contain_text("Pat asks")
        await expect(kim.get_by_test_id("announce")).to_contain_text("Pat asks: Which one for Friday?")

        # Ana (the Python client) asks with a deadline a few seconds ahead: keep the winner
        deadline = int(time.time() * 1000) + 6000
        poll = await ana.create_poll("Rain or wool?", [rain, wool], deadline)
        on_pat, on_kim = poll_of(pat, "Rain or wool?"), poll_of(kim, "Rain or wool?")
        await expect(on_kim).to_have_count(1)
        # Kim votes with the keyboard; Pat with a tap; each sees the other's vote live
        wool_kim = on_kim.get_by_test_id("poll-option").nth(1)
        await wool_kim.focus()
        await kim.keyboard.press("Enter")
        await expect(wool_kim).to_have_attribute("aria-pressed", "true")
        await expect(wool_kim).to_be_focused()  # the keyed update kept focus on the option
        await expect(on_pat.get_by_test_id("poll-count").nth(1)).to_have_text("1 vote")
        await on_pat.get_by_test_id("poll-option").nth(1).click()
        await expect(on_kim.get_by_test_id("poll-count").nth(1)).to_have_text("2 votes")
        # a vote changes until the deadline: Kim moves to rain, then back to wool
        await on_kim.get_by_test_id("poll-option").nth(0).click()
        await expect(on_pat.get_by_test_id("poll-count").nth(0)).to_have_text("1 vote")
        await on_kim.get_by_test_id("poll-option").nth(1).click()
        await expect(on_pat.get_by_test_id("poll-count").nth(1)).to_have_text("2 votes")
        await ana.vote_poll(poll, 0)

        # at the deadline the server closes it: both pages show the result and the cart
        for page, on in ((pat, on_pat), (kim, on_kim)):
            await expect(on.get_by_test_id("poll-result")).to_have_text(
                "Wool jacket won. 1 other item was removed from the cart.", timeout=20_000
            )
            await expect(page.locator("[data-testid=cart-line]")).to_have_count(1)
            await expect(page.locator('[data-testid=cart-line][data-product="wool"]')).to_have_count(1)
            await expect(on.get_by_test_id("poll-option").nth(0)).to_have_attribute("aria-disabled", "true")
        await expect(kim.get_by_test_id("announce")).to_contain_text("Poll closed: Rain or wool?")
        assert ana.polls[-1].closed and ana.polls[-1].removed == [rain]
