"""The help queue on one real server (SQLite): a room asks for help, associates see it
live, exactly one claims it, the room sees the associate; escalation, closes, stats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.messages import (
    Ack,
    CartAdd,
    Chat,
    Event,
    HelpClaim,
    HelpClose,
    HelpEscalate,
    HelpRequest,
    MemberJoin,
    Product,
)
from tests.support.admin import make_tenant, new_room
from tests.support.help import SseReader, bearer, claim, new_associate, queue
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

SHOE = Product(id="sku-9", name="Trail shoe", price=8900, currency="EUR")


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path, env={"COSESSION_HELP_ESCALATE_SECONDS": "1.0", "COSESSION_HELP_SWEEP_SECONDS": "0.2",
                       "COSESSION_HELP_HEARTBEAT_SECONDS": "0.5", "COSESSION_HELP_MAX_LEVEL": "2"}
    )  # fmt: skip
    await proc.start()
    try:
        yield proc
    finally:
        proc.kill()


async def _shop(server: ServerProcess) -> tuple[dict[str, str], dict[str, Any]]:
    tenant = await make_tenant(f"sqlite:///{server.db}")
    room = await new_room(server.http_url, tenant["sk"], "Saturday shoes", owner="Olga")
    return tenant, room


async def _ask(client: RawClient, **fields: Any) -> int:
    ref = await client.op(HelpRequest(**fields))
    ack = await client.expect(Ack, ref=ref)
    return ack.seq


async def test_request_claim_once_badge_and_close(server: ServerProcess) -> None:
    tenant, room = await _shop(server)
    mia = await new_associate(server.http_url, tenant["sk"], "Mia")
    leo = await new_associate(server.http_url, tenant["sk"], "Leo")
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    stream = await SseReader(server.http_url + "/v1/associates/queue/stream", leo["token"]).start()
    assert stream.status == 200
    try:
        ref = await owner.op(CartAdd(product=SHOE, qty=2))
        await owner.expect(Ack, ref=ref)
        seq = await _ask(owner, where="in_store", department="Shoes", note="size 42?")
        request_id = f"{room['room']}:{seq}"
        new = await stream.until(lambda e: e.event == "request")
        assert new.data["id"] == request_id and new.data["state"] == "open"
        assert new.data["department"] == "Shoes" and new.data["where"] == "in_store"
        assert new.data["room_name"] == "Saturday shoes" and new.data["cart_lines"] == 1
        assert new.data["cart_total"] == {"amount": 17800, "currency": "EUR"}
        page = await queue(server.http_url, mia["token"])
        assert [r["id"] for r in page["requests"]] == [request_id] and page["cursor"] == new.id

        won, lost = await asyncio.gather(
            claim(server.http_url, mia["token"], request_id), claim(server.http_url, leo["token"], request_id)
        )
        if won.status_code != 200:
            won, lost = lost, won
        assert won.status_code == 200 and lost.status_code == 409, (won.text, lost.text)
        assert lost.json()["error"]["code"] == "already_claimed"
        body = won.json()
        taken = await stream.until(lambda e: e.event == "update" and e.data["state"] == "claimed")
        assert taken.data["associate"] == body["member"]

        # the room sees who is helping: the claim in its log and the associate joining with its badge
        claim_ev = await owner.expect(Event, timeout=10, by="")
        while not isinstance(claim_ev.op, HelpClaim):
            claim_ev = await owner.expect(Event, timeout=10, by="")
        assert claim_ev.op.request == seq and claim_ev.op.associate == body["member"]
        helper, welcome = await RawClient.join(server.ws_url, body["token"])
        assert welcome.role == "associate"
        joined = await owner.expect(Event, timeout=10)
        assert isinstance(joined.op, MemberJoin) and joined.op.role == "associate"
        assert welcome.snapshot is not None and welcome.snapshot.help[-1].state == "claimed"
        ref = await helper.op(Chat(text="On my way to Shoes!"))
        await helper.expect(Ack, ref=ref)

        # the requester's room closes it (REST, member token)
        async with httpx.AsyncClient() as http:
            r = await http.post(
                server.http_url + f"/v1/rooms/{room['room']}/help/{seq}/close", headers=bearer(room["token"])
            )
            assert r.status_code == 200, r.text
            gone = await stream.until(lambda e: e.event == "removed")
            assert gone.data["id"] == request_id and gone.data["state"] == "closed"
            closed = await owner.expect(Event, timeout=10, by="")
            while not isinstance(closed.op, HelpClose):
                closed = await owner.expect(Event, timeout=10, by="")
            stats = await http.get(server.http_url + "/v1/admin/help/stats", headers=bearer(tenant["sk"]))
            assert stats.status_code == 200, stats.text
            figures = stats.json()
            metrics = (await http.get(server.http_url + "/metrics")).text
        assert figures["total"]["requests"] == 1 and figures["total"]["claimed"] == 1
        assert figures["total"]["answered"] == 1
        assert figures["by_place"][0]["department"] == "Shoes"
        assert [a["name"] for a in figures["by_associate"]] == [welcome.member and body["request"]["associate_name"]]
        # no shopper identity anywhere in the figures
        text = stats.text
        for secret in (room["member"], "Olga", "size 42?"):
            assert secret not in text
        assert 'cosession_help_claim_seconds_count{department="Shoes",store=""} 1.0' in metrics
        assert 'cosession_help_first_answer_seconds_count{department="Shoes",store=""} 1.0' in metrics
        await helper.close()
    finally:
        await stream.close()
        await owner.close()


async def test_unclaimed_request_escalates_on_time(server: ServerProcess) -> None:
    tenant, room = await _shop(server)
    mia = await new_associate(server.http_url, tenant["sk"], "Mia")
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    stream = await SseReader(server.http_url + "/v1/associates/queue/stream", mia["token"]).start()
    try:
        seq = await _ask(owner)
        await stream.until(lambda e: e.event == "request")
        loop = asyncio.get_running_loop()
        started = loop.time()
        up = await stream.until(lambda e: e.event == "update" and e.data["level"] == 1, timeout=10)
        assert up.data["state"] == "open"
        waited = loop.time() - started
        assert waited >= 0.5, waited  # not before the configured wait (1 s)
        esc = await owner.expect(Event, timeout=10, by="")
        while not isinstance(esc.op, HelpEscalate):
            esc = await owner.expect(Event, timeout=10, by="")
        assert esc.op == HelpEscalate(request=seq, level=1)
        await stream.until(lambda e: e.event == "update" and e.data["level"] == 2, timeout=10)
    finally:
        await stream.close()
        await owner.close()
