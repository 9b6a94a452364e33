"""Mentions and questions in real Chromium (SPEC section 16): Ana (a desktop room page)
asks Ben about a cart line; Ben, coming back on his phone, finds it first in his list
(before a newer question to someone else), answers, and Ana sees it answered. The
``@name`` autocomplete in the chat input works with the keyboard alone (an ARIA combobox),
and the message mentioning Ben is marked "mentions you" on his page."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Page, expect

from cosession_client import RoomClient
from protocol.messages import Product
from tests.browser.a11y import serious_violations
from tests.browser.conftest import DESKTOP, PHONE, Browsers, artifact
from tests.support.server import ServerProcess

JACKET = Product(id="sku-jacket", name="Rain jacket", price=8900, currency="EUR", variant="M")


async def join(page: Page, invite_url: str, name: str) -> None:
    await page.goto(invite_url)
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join").click()
    await expect(page.get_by_test_id("status")).to_have_text("Live")


async def chat_tab(page: Page) -> None:
    tab = page.get_by_role("tab", name=re.compile("Chat"))
    if await tab.is_visible():
        await tab.click()


async def member_id(server: ServerProcess, token: str, room: str, name: str) -> str:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        r = await http.get(f"/v1/rooms/{room}/snapshot", headers={"authorization": f"Bearer {token}"})
        r.raise_for_status()
        members: dict[str, Any] = r.json()["state"]["members"]
    return next(m for m, info in members.items() if info["name"] == name)


async def test_ana_asks_ben_about_a_cart_line_and_sees_his_answer(server: ServerProcess, browsers: Browsers) -> None:
    created = await server.create_room(name="Jackets", owner_name="Olga")
    invite_url = created["invite"]["url"]
    async with RoomClient.connect(created["token"], server=server.http_url) as olga:
        await olga.add_to_cart(JACKET)
        _, ana = await browsers.new_page("ana", bypass_csp=True, **DESKTOP)
        ben_ctx, ben = await browsers.new_page("ben", bypass_csp=True, **PHONE)
        await join(ana, invite_url, "Ana")
        await join(ben, invite_url, "Ben")
        await ben.goto("about:blank")  # Ben leaves for a while

        # Ana asks Ben about the jacket line, from the form (keyboard-usable native controls)
        await chat_tab(ana)
        await ana.get_by_test_id("ask-open").click()
        form = ana.get_by_test_id("ask-form")
        await expect(form).to_be_visible()
        await form.get_by_test_id("ask-send").click()  # nobody picked: a hint, nothing sent
        await expect(form.get_by_test_id("ask-hint")).to_have_text("Pick at least one person to ask.")
        await form.get_by_label("Ben").check()
        await form.get_by_label("About").select_option(label="Rain jacket")
        await form.get_by_label("Question").fill("Ben, size M or L?")
        assert await serious_violations(ana) == []  # the open form, labelled
        await form.get_by_test_id("ask-send").click()
        await expect(form).to_be_hidden()
        asked = ana.get_by_test_id("question").filter(has_text="Ben, size M or L?")
        await expect(asked.get_by_test_id("question-text")).to_have_text("Ben, size M or L?")
        await expect(asked.get_by_test_id("question-state")).to_have_text("Waiting for an answer")
        await expect(asked.get_by_test_id("question-about")).to_have_text("About: Rain jacket")

        # a newer question, to Ana: newest first would put it above Ben's
        ana_id = await member_id(server, created["token"], created["room"], "Ana")
        await olga.ask(ana_id, "Gift wrap?")

        # Ben comes back: his open question comes first, and is announced
        await ben.goto(invite_url)
        await expect(ben.get_by_test_id("status")).to_have_text("Live")
        await chat_tab(ben)
        questions = ben.get_by_test_id("question")
        await expect(questions).to_have_count(2)
        first = questions.first
        await expect(first.get_by_test_id("question-text")).to_have_text("Ben, size M or L?")
        await expect(first.get_by_test_id("question-for-you")).to_be_visible()
        await expect(first).to_contain_text("Ana asked You")
        await expect(first.get_by_test_id("question-about")).to_have_text("About: Rain jacket")
        await expect(questions.nth(1).get_by_test_id("question-text")).to_have_text("Gift wrap?")
        await expect(ben.get_by_test_id("questions-for-you")).to_have_text("For you: 1")
        await expect(ben.get_by_test_id("announce")).to_contain_text("Questions waiting for your answer: 1")
        await ben.screenshot(path=artifact("questions-ben.png"))
        assert await serious_violations(ben) == []  # the list with answer forms

        # Ben answers with the keyboard: into the answer field, type, Enter. Answered, it
        # is no longer open for him and takes its place among the others (newest first).
        first = questions.filter(has_text="Ben, size M or L?")
        await first.get_by_label("Your answer").focus()
        await ben.keyboard.type("M, it runs large")
        await ben.keyboard.press("Enter")
        await expect(first.get_by_test_id("question-state")).to_have_text("Answered")
        await expect(ben.get_by_test_id("questions-for-you")).to_have_text("")
        await expect(questions.first.get_by_test_id("question-text")).to_have_text("Gift wrap?")
        await expect(first.get_by_label("Your answer")).to_be_focused()  # focus moved with it

        # Ana sees it answered, and hears it; the question to her is listed first
        await expect(ana.get_by_test_id("question").first).to_contain_text("Gift wrap?")
        await expect(asked.get_by_test_id("question-state")).to_have_text("Answered")
        await expect(asked.get_by_test_id("answer")).to_have_text("Ben: M, it runs large")
        await expect(ana.get_by_test_id("announce")).to_contain_text("Ben answered: M, it runs large")
        # Ana (the asker) closes it; Ben's answer form goes away
        await asked.get_by_test_id("question-close").click()
        await expect(asked.get_by_test_id("question-state")).to_have_text("Closed")
        await expect(first.get_by_test_id("question-state")).to_have_text("Closed")
        await expect(first.get_by_test_id("answer-input")).to_be_hidden()
        await ana.screenshot(path=artifact("questions-ana.png"))
        await ben_ctx.close()


async def test_mention_autocomplete_by_keyboard(server: ServerProcess, browsers: Browsers) -> None:
    created = await server.create_room(name="Mentions", owner_name="Olga")
    invite_url = created["invite"]["url"]
    _, ana = await browsers.new_page("ana", bypass_csp=True, **DESKTOP)
    _, ben = await browsers.new_page("ben", bypass_csp=True, **PHONE)
    await join(ben, invite_url, "Ben")
    await join(ana, invite_url, "Ana")
    await chat_tab(ana)
    await chat_tab(ben)
    box = ana.get_by_role("combobox", name="Message")
    await box.focus()
    await ana.keyboard.type("Look @b")
    listbox = ana.get_by_role("listbox", name="People to mention")
    await expect(listbox).to_be_visible()
    await expect(box).to_have_attribute("aria-expanded", "true")
    await expect(listbox.get_by_role("option")).to_have_text(["Ben"])
    option_id = await listbox.get_by_role("option").first.get_attribute("id")
    await expect(box).to_have_attribute("aria-activedescendant", option_id or "")
    await expect(listbox.get_by_role("option", name="Ben")).to_have_attribute("aria-selected", "true")
    assert await serious_violations(ana) == []  # the open combobox
    await ana.keyboard.press("Escape")  # closes the list, keeps the text
    await expect(listbox).to_be_hidden()
    await expect(box).to_have_attribute("aria-expanded", "false")
    await ana.keyboard.press("Backspace")
    await ana.keyboard.type("B")
    await expect(listbox).to_be_visible()
    await ana.keyboard.press("ArrowDown")  # one option: wraps onto itself
    await ana.keyboard.press("Enter")  # picks, does not send
    await expect(box).to_have_value("Look @Ben ")
    await expect(box).to_be_focused()
    await ana.keyboard.type("at this")
    await ana.keyboard.press("Enter")  # list closed: sends
    await expect(box).to_have_value("")

    mine = ana.get_by_test_id("chat-message").last
    await expect(mine.get_by_test_id("chat-text")).to_have_text("Look @Ben at this")
    await expect(mine.get_by_test_id("mentions-you")).to_be_hidden()  # my own message
    theirs = ben.get_by_test_id("chat-message").last
    await expect(theirs.get_by_test_id("chat-text")).to_have_text("Look @Ben at this")
    await expect(theirs.get_by_test_id("mentions-you")).to_have_text("mentions you")
    ben_id = await member_id(server, created["token"], created["room"], "Ben")
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        r = await http.get(
            f"/v1/rooms/{created['room']}/snapshot", headers={"authorization": f"Bearer {created['token']}"}
        )
    assert r.json()["state"]["chat"][-1]["mentions"] == [ben_id]
    # a message without a picked mention carries none
    await box.focus()
    await ana.keyboard.type("plain @Ben text")
    await ana.keyboard.press("Escape")
    await ana.keyboard.press("Enter")
    await expect(ben.get_by_test_id("chat-message").last.get_by_test_id("chat-text")).to_have_text("plain @Ben text")
    await expect(ben.get_by_test_id("chat-message").last.get_by_test_id("mentions-you")).to_be_hidden()
