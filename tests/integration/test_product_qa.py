"""Product Q&A (SPEC section 19) against a real server: a room asks past buyers, a
verified buyer answers through REST, and the answer reaches the room's log (also when the
room was not loaded), a hidden answer disappears everywhere, only buyer tokens answer,
and answers are rate- and size-limited."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from cosession_client import OpRejected, RoomClient
from protocol.messages import Product, QaItem
from tests.conftest import ServerFactory
from tests.integration.test_checkout import join, tenant_room, wait_until
from tests.integration.test_tenants import bearer
from tests.support.server import ServerProcess

JACKET = Product(id="jacket-7", name="Rain jacket", price=8900, currency="EUR", variant="M")
SHOES = Product(id="shoes-2", name="Trail shoes", price=12900, currency="EUR")


async def buyer(server: ServerProcess, tenant: dict[str, Any], name: str = "Dana", **extra: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post("/v1/tenant/buyers", json={"name": name, **extra}, headers=bearer(tenant["secret_key"]))
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        assert data["token"].startswith("bt_")
        return data


async def thread_of(server: ServerProcess, tenant: dict[str, Any], product: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.get(f"/v1/qa/{tenant['id']}/products/{product}")
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data


async def wait_thread(server: ServerProcess, tenant: dict[str, Any], product: str, questions: int) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            data = await thread_of(server, tenant, product)
            if len(data["questions"]) >= questions:
                return data
            await asyncio.sleep(0.05)


async def answer(server: ServerProcess, token: str, thread: str, text: str, **extra: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        return await http.post(f"/v1/qa/threads/{thread}/answers", json={"text": text, **extra}, headers=bearer(token))


def answers(client: RoomClient) -> list[QaItem]:
    return [item for item in client.state.qa if item.kind == "answer"]


async def loaded_rooms(server: ServerProcess) -> float:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        text = (await http.get("/metrics")).text
    line = next(ln for ln in text.splitlines() if ln.startswith("cosession_rooms_loaded "))
    return float(line.split()[1])


async def test_a_past_buyers_answer_reaches_the_asking_room_also_when_it_was_not_loaded(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory("--room-idle-unload", "0.2")
    tenant, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        seq = await ana.ask_past_buyers(JACKET, "Does the M run small? I am 1.70 m.")
        ask = ana.state.qa[-1]
        assert (ask.id, ask.kind, ask.by, ask.product_id) == (seq, "ask", ana.member, JACKET.id)
    public = await wait_thread(server, tenant, JACKET.id, 1)
    # the public thread: the question's text and time, nothing about the asker or the room
    assert [q["text"] for q in public["questions"]] == ["Does the M run small? I am 1.70 m."]
    flat = str(public)
    assert created["room"] not in flat and ana.member not in flat and "Ana" not in flat
    await wait_until_async(lambda: loaded_rooms(server), 0.0)  # nobody there: the room left memory

    dana = await buyer(server, tenant)
    r = await answer(server, dana["token"], public["thread"], "It runs small: take an L.")
    assert r.status_code == 201, r.text
    assert r.json()["rooms"] == 1

    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await wait_until(lambda: len(answers(ana)) == 1)
        got = answers(ana)[0]
        assert (got.name, got.text, got.product_id, got.thread) == (
            "Dana",
            "It runs small: take an L.",
            JACKET.id,
            public["thread"],
        )
        assert got.answer == r.json()["answer"] and got.id > seq
    # the public read shows the answer with the buyer's display name
    after = await thread_of(server, tenant, JACKET.id)
    assert [(a["name"], a["text"]) for a in after["answers"]] == [("Dana", "It runs small: take an L.")]


async def wait_until_async(read: Any, value: float, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while await read() != value:
            await asyncio.sleep(0.05)


async def test_an_answer_arrives_live_once_in_every_room_that_asked(server: ServerProcess) -> None:
    tenant, first = await tenant_room(server)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post(
            "/v1/rooms", json={"name": "Other", "owner_name": "Cleo"}, headers=bearer(tenant["secret_key"])
        )
        second = r.json()
    async with (
        RoomClient.connect(first["token"], server=server.http_url) as ana,
        RoomClient.connect(second["token"], server=server.http_url) as cleo,
    ):
        await ana.ask_past_buyers(JACKET, "Waterproof in real rain?")
        await cleo.ask_past_buyers(JACKET, "Is the hood removable?")
        await cleo.ask_past_buyers(SHOES, "Wide fit?")  # another thread
        public = await wait_thread(server, tenant, JACKET.id, 2)
        dana = await buyer(server, tenant)
        r = await answer(server, dana["token"], public["thread"], "Yes, and the hood zips off.")
        assert r.json()["rooms"] == 2
        await wait_until(lambda: len(answers(ana)) == 1 and len(answers(cleo)) == 1)
        # the sweep and a retry of the same delivery append nothing more
        await asyncio.sleep(0.3)
        assert len(answers(ana)) == 1 and len(answers(cleo)) == 1


async def test_a_hidden_answer_disappears_everywhere(server: ServerProcess) -> None:
    tenant, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        bo = await join(server, created, "Bo")
        try:
            await bo.ask_past_buyers(JACKET, "Does it smell of plastic?")
            public = await wait_thread(server, tenant, JACKET.id, 1)
            dana = await buyer(server, tenant)
            rude = await answer(server, dana["token"], public["thread"], "only idiots ask that")
            kind = await answer(server, dana["token"], public["thread"], "No smell at all.")
            rude_id = rude.json()["answer"]
            await wait_until(lambda: len(answers(ana)) == 2 and len(answers(bo)) == 2)
            async with httpx.AsyncClient(base_url=server.http_url) as http:
                r = await http.post(f"/v1/admin/qa/answers/{rude_id}/hide", headers=bearer(tenant["secret_key"]))
                assert r.status_code == 200 and r.json() == {"answer": rude_id, "hidden": True}
                other = await http.post("/v1/admin/qa/answers/qa_nope/hide", headers=bearer(tenant["secret_key"]))
                assert other.status_code == 404 and other.json()["error"]["code"] == "answer_not_found"

            def shown(client: RoomClient) -> list[str]:
                return [a.text for a in answers(client) if not a.hidden]

            await wait_until(lambda: shown(ana) == shown(bo) == ["No smell at all."])
            for client in (ana, bo):  # tombstoned: no text, no name left in the state
                hidden = next(a for a in answers(client) if a.answer == rude_id)
                assert hidden.hidden and hidden.text == "" and hidden.name == ""
            assert [a["id"] for a in (await thread_of(server, tenant, JACKET.id))["answers"]] == [kind.json()["answer"]]
        finally:
            await bo.close()
    # a member who comes back later gets a snapshot without it too
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        assert [a.text for a in answers(ana) if not a.hidden] == ["No smell at all."]


async def test_only_a_verified_buyers_token_can_answer(server: ServerProcess) -> None:
    tenant, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await ana.ask_past_buyers(JACKET, "Warm enough for winter?")
    public = await wait_thread(server, tenant, JACKET.id, 1)
    thread = public["thread"]
    dana = await buyer(server, tenant)
    shoes_only = await buyer(server, tenant, "Eli", products=[SHOES.id])
    tampered = dana["token"][:-2] + ("AA" if not dana["token"].endswith("AA") else "BB")
    cases = [
        (created["token"], 403, "forbidden"),  # a member's join token
        (tenant["secret_key"], 403, "forbidden"),  # the tenant's own secret key
        (tenant["publishable_key"], 403, "forbidden"),
        (tampered, 401, "unauthorized"),
        ("bt_" + "x" * 200, 401, "unauthorized"),
        (shoes_only["token"], 403, "forbidden"),  # verified for another product only
    ]
    for token, status, code in cases:
        r = await answer(server, token, thread, "sneaky")
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (token[:6], r.text)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post(f"/v1/qa/threads/{thread}/answers", json={"text": "no auth"})
        assert r.status_code == 401
        # revoked: the token stops working at once
        r = await http.delete(f"/v1/tenant/buyers/{dana['buyer']}", headers=bearer(tenant["secret_key"]))
        assert r.status_code == 200 and r.json() == {"buyer": dana["buyer"], "revoked": True}
    r = await answer(server, dana["token"], thread, "after revocation")
    assert r.status_code == 401
    # another tenant's buyer does not see this thread
    other, _ = await tenant_room(server)
    stranger = await buyer(server, other, "Stranger")
    r = await answer(server, stranger["token"], thread, "hi")
    assert r.status_code == 404 and r.json()["error"]["code"] == "thread_not_found"
    assert (await thread_of(server, tenant, JACKET.id))["answers"] == []


async def test_answers_are_rate_and_size_limited(server_factory: ServerFactory) -> None:
    server = await server_factory("--qa-buyer-answers-per-minute", "2", "--qa-tenant-answers-per-minute", "3")
    tenant, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await ana.ask_past_buyers(JACKET, "Colour true to the photo?")
    thread = (await wait_thread(server, tenant, JACKET.id, 1))["thread"]
    dana, eli = await buyer(server, tenant), await buyer(server, tenant, "Eli")
    # size and shape first (refusals use no allowance)
    assert (await answer(server, dana["token"], thread, "x" * 2001)).status_code == 422
    assert (await answer(server, dana["token"], thread, "")).status_code == 422
    assert (await answer(server, dana["token"], thread, "ok", question="qq_missing")).status_code == 422
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        url = f"/v1/qa/threads/{thread}/answers"
        big = await http.post(url, content=b'{"text": "' + b"x" * 9000 + b'"}', headers=bearer(dana["token"]))
        assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
        bad = await http.post(url, content=b"{not json", headers=bearer(dana["token"]))
        assert bad.status_code == 400
    # per buyer: 2 a minute
    for n in range(2):
        assert (await answer(server, dana["token"], thread, f"yes {n}")).status_code == 201
    limited = await answer(server, dana["token"], thread, "flood")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    # per tenant: 3 a minute, whichever buyer
    assert (await answer(server, eli["token"], thread, "yes from Eli")).status_code == 201
    assert (await answer(server, eli["token"], thread, "again")).status_code == 429
    assert len((await thread_of(server, tenant, JACKET.id))["answers"]) == 3


async def test_asking_needs_a_tenant_and_a_well_formed_question(server: ServerProcess) -> None:
    created = await server.create_room("No shop")
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        try:
            await ana.ask_past_buyers(JACKET, "anyone?")
        except OpRejected as exc:
            assert exc.code == "qa_unavailable"
        else:
            raise AssertionError("qa.ask in a room without a tenant was accepted")
        assert ana.state.qa == []


async def test_erasing_a_member_tombstones_their_question_in_the_public_thread(server: ServerProcess) -> None:
    tenant, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        bo = await join(server, created, "Bo")
        try:
            await bo.ask_past_buyers(JACKET, "I am 1.62 m and 80 kg, which size?")
            await ana.ask_past_buyers(JACKET, "Does it pack small?")
            await wait_thread(server, tenant, JACKET.id, 2)
            async with httpx.AsyncClient(base_url=server.http_url) as http:
                r = await http.delete(
                    f"/v1/admin/rooms/{created['room']}/members/{bo.member}", headers=bearer(tenant["secret_key"])
                )
                assert r.status_code == 200, r.text
            await wait_until(lambda: any(i.text == "[erased]" for i in ana.state.qa))
        finally:
            await bo.close()
    async with asyncio.timeout(10):
        while True:
            texts = [q["text"] for q in (await thread_of(server, tenant, JACKET.id))["questions"]]
            if texts == ["[erased]", "Does it pack small?"]:
                break
            await asyncio.sleep(0.05)
