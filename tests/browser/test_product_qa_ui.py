"""Product Q&A on the phone room page (Chromium): "Ask past buyers" on a cart line with
the keyboard, the question in the chat timeline, a verified buyer's answer arriving live
with its badge (announced while the chat is not on screen), and a hidden answer leaving
the page while another member's client drops it too."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from cosession_client import RoomClient
from protocol.messages import Product
from tests.browser.conftest import Browsers, artifact
from tests.browser.test_checkout_ui import FOCUSED, RECORD_ANNOUNCEMENTS, join_room_page
from tests.browser.test_shopping_together import line, tab
from tests.integration.test_checkout import join, tenant_room, wait_until
from tests.integration.test_product_qa import answer, answers, buyer, wait_thread
from tests.integration.test_tenants import bearer
from tests.support.server import ServerProcess

JACKET = Product(id="jacket-7", name="Rain jacket", price=8900, currency="EUR")


async def test_asking_past_buyers_and_seeing_the_answer_arrive_live(server: ServerProcess, browsers: Browsers) -> None:
    tenant, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await ana.add_to_cart(JACKET)
        bo = await join(server, created, "Bo")
        try:
            page = await join_room_page(browsers, created["invite"]["url"], "phone")
            await page.evaluate(RECORD_ANNOUNCEMENTS)
            ask = line(page, JACKET.id).get_by_test_id("qa-ask-open")
            await expect(ask).to_have_attribute("aria-label", "Ask past buyers about Rain jacket")
            # keyboard only: open the form, Escape closes it (focus back), open again, post
            await ask.focus()
            await page.keyboard.press("Enter")
            form = line(page, JACKET.id).get_by_test_id("qa-ask-form")
            await expect(form).to_be_visible()
            await expect(ask).to_have_attribute("aria-expanded", "true")
            assert (await page.evaluate(FOCUSED))["testid"] == "qa-ask-input"
            await page.keyboard.press("Escape")
            await expect(form).to_be_hidden()
            assert (await page.evaluate(FOCUSED))["testid"] == "qa-ask-open"
            await page.keyboard.press("Enter")
            await expect(page.get_by_label("Your question to people who bought Rain jacket")).to_be_focused()
            await page.keyboard.type("Does it keep you dry on a bike?")
            await page.screenshot(path=artifact("qa-ask-form.png"))
            await page.keyboard.press("Tab")
            await page.keyboard.press("Enter")  # "Post question"
            await expect(form).to_be_hidden()
            assert (await page.evaluate(FOCUSED))["testid"] == "qa-ask-open"
            await wait_until(lambda: any(i.kind == "ask" for i in bo.state.qa))
            public = await wait_thread(server, tenant, JACKET.id, 1)
            assert public["questions"][0]["text"] == "Does it keep you dry on a bike?"

            # a verified buyer answers: live on the page (announced: the cart tab is shown)
            dana = await buyer(server, tenant)
            r = await answer(server, dana["token"], public["thread"], "Yes, I ride daily in it.")
            assert r.status_code == 201, r.text
            await wait_until(lambda: len(answers(bo)) == 1)
            said = "Dana, a verified buyer, answered about Rain jacket: Yes, I ride daily in it."
            await page.wait_for_function("(s) => window.__said.some((x) => x.includes(s))", arg=said, timeout=10_000)
            await tab(page, "Chat")
            asked = page.get_by_test_id("qa-ask")
            await expect(asked).to_have_text(
                "You asked past buyers about Rain jacket — Does it keep you dry on a bike?"
            )
            got = page.get_by_test_id("qa-answer")
            await expect(got).to_have_count(1)
            await expect(got.get_by_test_id("verified-buyer")).to_have_text("Verified buyer")
            await expect(got).to_contain_text("Dana")
            await expect(got.get_by_test_id("qa-answer-text")).to_have_text("Yes, I ride daily in it.")
            await page.screenshot(path=artifact("qa-answer.png"))

            # the shop hides it: gone from the page and from Bo's state
            async with httpx.AsyncClient(base_url=server.http_url) as http:
                hidden = await http.post(
                    f"/v1/admin/qa/answers/{r.json()['answer']}/hide", headers=bearer(tenant["secret_key"])
                )
                assert hidden.status_code == 200
            await expect(got).to_have_count(0)
            await wait_until(lambda: all(a.hidden for a in answers(bo)))
            await expect(asked).to_have_count(1)
        finally:
            await bo.close()
