"""The admin API against a real server: auth and bad input, listing and reading rooms,
closing (live members see it, later ops and joins are refused), deleting, erasing a
member (nothing of theirs comes back from any API, snapshot or replay, and the others'
states still fold equal), and retention (idle rooms closed, then purged)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.errors import CloseCode, ErrorCode
from protocol.messages import (
    CartAdd,
    Chat,
    CheckoutRequest,
    CheckoutStart,
    Error,
    Event,
    Focus,
    MemberErase,
    Product,
    Resume,
    RoomClose,
    RoomState,
    Welcome,
)
from protocol.reducer import fold
from tests.support.admin import accept, make_tenant, new_room, poll, sk
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

SHIRT = Product(id="sku-1", name="Shirt", price=100, currency="EUR")
SECRET_NAME = "Bob Secretname"
SECRET_TEXT = "call me on 555-0199"


async def start(tmp_path: Path, name: str, *args: str, **env: str) -> ServerProcess:
    workdir = tmp_path / name
    workdir.mkdir()
    proc = ServerProcess(workdir, *args, env={f"COSESSION_{k.upper()}": v for k, v in env.items()})
    await proc.start()
    return proc


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    proc = await start(tmp_path, "main", "--snapshot-every", "3")
    try:
        yield proc
    finally:
        proc.kill()


async def test_auth_no_key_wrong_key_member_token_and_other_tenants_rooms(srv: ServerProcess) -> None:
    shop = await make_tenant(f"sqlite:///{srv.db}", "Shop")
    other = await make_tenant(f"sqlite:///{srv.db}", "Other")
    mine = await new_room(srv.http_url, shop["sk"], "Mine")
    theirs = await new_room(srv.http_url, other["sk"], "Theirs")
    base = srv.http_url + "/v1/admin"
    async with httpx.AsyncClient() as http:
        assert (await http.get(base + "/rooms")).status_code == 401
        assert (await http.get(base + "/rooms", headers=sk("sk_wrong"))).status_code == 401
        r = await http.get(base + f"/rooms/{mine['room']}", headers=sk(mine["token"]))  # a member token
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = await http.get(base + "/rooms", headers={**sk(shop["pk"]), "origin": "https://shop.example"})
        assert r.status_code == 403
        room = theirs["room"]
        for method, path in (
            ("GET", f"/rooms/{room}"),
            ("POST", f"/rooms/{room}/close"),
            ("DELETE", f"/rooms/{room}"),
            ("DELETE", f"/rooms/{room}/members/{theirs['member']}"),
        ):
            r = await http.request(method, base + path, headers=sk(shop["sk"]))
            assert r.status_code == 404 and r.json()["error"]["code"] == "room_not_found", (method, path)
        listed = (await http.get(base + "/rooms", headers=sk(shop["sk"]))).json()
        assert [r["room"] for r in listed["rooms"]] == [mine["room"]]
        # the other tenant's room is untouched
        detail = (await http.get(base + f"/rooms/{room}", headers=sk(other["sk"]))).json()
        assert detail["closed"] is False and detail["name"] == "Theirs"


async def test_malformed_and_oversized_input(srv: ServerProcess) -> None:
    shop = await make_tenant(f"sqlite:///{srv.db}")
    room = (await new_room(srv.http_url, shop["sk"], "R"))["room"]
    base, h = srv.http_url + "/v1/admin", sk(shop["sk"])
    async with httpx.AsyncClient() as http:

        async def code(r: httpx.Response) -> tuple[int, str]:
            return r.status_code, r.json()["error"]["code"]

        close = base + f"/rooms/{room}/close"
        assert await code(await http.post(close, content=b"{nope", headers=h)) == (400, "bad_json")
        assert await code(await http.post(close, json={"reason": "x" * 201}, headers=h)) == (422, "invalid_field")
        assert await code(await http.post(close, json={"reason": "a\x00b"}, headers=h)) == (422, "invalid_field")
        assert await code(await http.post(close, json={"why": "x"}, headers=h)) == (422, "invalid_field")
        assert await code(await http.post(close, content=b"x" * 20_000, headers=h)) == (413, "too_large")
        for query in (
            "limit=0",
            "limit=101",
            "limit=x",
            "status=gone",
            "bogus=1",
            "cursor=%%%",
            "limit=1&limit=2",
            "cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5Onhx",
        ):
            assert await code(await http.get(base + "/rooms?" + query, headers=h)) == (422, "invalid_field"), query
        bad = {"close_after_seconds": 0, "purge_after_seconds": 1}
        assert await code(await http.put(base + "/retention", json=bad, headers=h)) == (422, "invalid_field")
        # nothing was closed by any of that
        assert (await http.get(base + f"/rooms/{room}", headers=h)).json()["closed"] is False


async def test_flooding_the_admin_api_is_rate_limited(tmp_path: Path) -> None:
    proc = await start(tmp_path, "limited", admin_per_minute="5")
    try:
        shop = await make_tenant(f"sqlite:///{proc.db}")
        async with httpx.AsyncClient() as http:
            codes = [(await http.get(proc.http_url + "/v1/admin/rooms", headers=sk(shop["sk"]))) for _ in range(8)]
        assert [r.status_code for r in codes[:5]] == [200] * 5
        assert codes[5].status_code == 429 and codes[5].json()["error"]["code"] == "rate_limited"
        assert int(codes[5].headers["retry-after"]) >= 1
    finally:
        proc.kill()


async def test_list_search_paginate_and_read(srv: ServerProcess) -> None:
    shop = await make_tenant(f"sqlite:///{srv.db}")
    made = [await new_room(srv.http_url, shop["sk"], name) for name in ("Brunch", "Ski trip", "brunch again", "Gifts")]
    base, h = srv.http_url + "/v1/admin", sk(shop["sk"])
    async with httpx.AsyncClient() as http:
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(5):
            url = base + "/rooms?limit=3" + (f"&cursor={cursor}" if cursor else "")
            page = (await http.get(url, headers=h)).json()
            seen += [r["room"] for r in page["rooms"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [m["room"] for m in reversed(made)]  # newest first, each once
        found = (await http.get(base + "/rooms?q=BRUNCH", headers=h)).json()["rooms"]
        assert sorted(r["name"] for r in found) == ["Brunch", "brunch again"]
        await http.post(base + f"/rooms/{made[0]['room']}/close", json={}, headers=h)
        closed = (await http.get(base + "/rooms?status=closed", headers=h)).json()["rooms"]
        assert [r["room"] for r in closed] == [made[0]["room"]]
        open_ = (await http.get(base + "/rooms?status=open", headers=h)).json()["rooms"]
        assert made[0]["room"] not in {r["room"] for r in open_} and len(open_) == 3
        later = (await http.get(base + f"/rooms?created_after={10**15}", headers=h)).json()["rooms"]
        assert later == []
        detail = (await http.get(base + f"/rooms/{made[1]['room']}", headers=h)).json()
        assert detail["name"] == "Ski trip" and detail["counts"]["members"] == 1
        assert detail["members"] == [
            {"member": made[1]["member"], "name": "Olga", "role": "owner", "kicked": False, "erased": False,
             "online": False}
        ]  # fmt: skip


async def test_close_live_members_see_it_and_everything_after_is_refused(srv: ServerProcess) -> None:
    shop = await make_tenant(f"sqlite:///{srv.db}")
    room = await new_room(srv.http_url, shop["sk"], "Closing")
    bo = await accept(srv.http_url, room["invite"]["code"], "Bo")
    owner, _ = await RawClient.join(srv.ws_url, room["token"])
    member, _ = await RawClient.join(srv.ws_url, bo["token"])
    base, h = srv.http_url + "/v1/admin", sk(shop["sk"])
    async with httpx.AsyncClient() as http:
        r = await http.post(base + f"/rooms/{room['room']}/close", json={"reason": "store closed"}, headers=h)
        assert r.status_code == 200 and r.json()["closed"] is True and r.json()["closed_at"] > 0
        for client in (owner, member):
            event = await client.expect(Event)
            while not isinstance(event.op, RoomClose):
                event = await client.expect(Event)
            assert event.by == "" and event.op.reason == "store closed"
        ref = await member.op(CartAdd(product=SHIRT))
        await member.expect(Error, code=ErrorCode.ROOM_CLOSED, ref=ref)
        ref = await owner.op(Chat(text="hello?"))
        await owner.expect(Error, code=ErrorCode.ROOM_CLOSED, ref=ref)
        # closing again answers the same; no second event
        again = await http.post(base + f"/rooms/{room['room']}/close", json={}, headers=h)
        assert again.status_code == 200 and again.json()["seq"] == r.json()["seq"]
        # no new members: the invite and a new connection are refused
        r2 = await http.post(srv.http_url + f"/v1/invites/{room['invite']['code']}/accept", json={"name": "Cy"})
        assert r2.status_code == 410 and r2.json()["error"]["code"] == "room_closed"
        late = await RawClient.open(srv.ws_url)
        from protocol.messages import Hello

        await late.send(Hello(token=room["token"]))
        await late.expect(Error, code=ErrorCode.ROOM_CLOSED)
        assert await late.closed_with() == CloseCode.FORBIDDEN
        # delete: only now; the room is gone from every API and live sockets are closed
        gone = await http.delete(base + f"/rooms/{room['room']}", headers=h)
        assert gone.status_code == 200 and gone.json() == {"room": room["room"], "deleted": True}
        assert await member.closed_with() == CloseCode.ROOM_NOT_FOUND
        r3 = await http.get(base + f"/rooms/{room['room']}", headers=h)
        assert r3.status_code == 404
        r4 = await http.get(srv.http_url + f"/v1/rooms/{room['room']}/snapshot", headers=sk(room["token"]))
        assert r4.status_code == 404


# per-room tables a purge leaves alone, on purpose (docs/admin-api.md, "Delete")
KEPT_AFTER_PURGE = {"webhook_outbox"}


def _rows_of_room(db_path: Path, room_id: str) -> dict[str, int]:
    """Rows naming ``room_id`` in every table with a room column (any table added later too)."""
    out: dict[str, int] = {}
    with sqlite3.connect(db_path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = {c[1] for c in db.execute(f"PRAGMA table_info({table})")}
            column = "room_id" if "room_id" in columns else "id" if table == "rooms" else None
            if column is not None:
                out[table] = db.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", (room_id,)).fetchone()[0]
    return out


async def test_delete_removes_every_per_room_row_but_the_webhook_log(srv: ServerProcess) -> None:
    shop = await make_tenant(f"sqlite:///{srv.db}")
    room = await new_room(srv.http_url, shop["sk"], "Gone")
    other = await new_room(srv.http_url, shop["sk"], "Stays")
    for made in (room, other):  # a viewed product: a room_focus row for trends
        client, _ = await RawClient.join(srv.ws_url, made["token"])
        await client.send(Focus(product=SHIRT))
        await client.close()

    async def focus_written() -> bool | None:
        counts = [_rows_of_room(srv.db, made["room"]).get("room_focus", 0) for made in (room, other)]
        return True if counts == [1, 1] else None

    await poll(focus_written)
    before = _rows_of_room(srv.db, room["room"])
    assert before["room_focus"] == 1 and before["events"] >= 1 and before["rooms"] == 1
    base, h = srv.http_url + "/v1/admin", sk(shop["sk"])
    async with httpx.AsyncClient() as http:
        assert (await http.post(base + f"/rooms/{room['room']}/close", json={}, headers=h)).status_code == 200
        assert (await http.delete(base + f"/rooms/{room['room']}", headers=h)).status_code == 200
    after = _rows_of_room(srv.db, room["room"])
    assert {t: n for t, n in after.items() if n and t not in KEPT_AFTER_PURGE} == {}, after
    assert _rows_of_room(srv.db, other["room"])["room_focus"] == 1  # another room's rows stay


async def test_delete_refuses_an_open_room(srv: ServerProcess) -> None:
    shop = await make_tenant(f"sqlite:///{srv.db}")
    room = await new_room(srv.http_url, shop["sk"], "Open")
    async with httpx.AsyncClient() as http:
        r = await http.delete(srv.http_url + f"/v1/admin/rooms/{room['room']}", headers=sk(shop["sk"]))
        assert r.status_code == 409 and r.json()["error"]["code"] == "room_open"


def _leaks(value: Any) -> bool:
    text = repr(value)
    return SECRET_NAME in text or SECRET_TEXT in text


async def test_erasure_leaves_nothing_of_the_member_and_every_state_still_folds(srv: ServerProcess) -> None:
    shop = await make_tenant(f"sqlite:///{srv.db}")
    room = await new_room(srv.http_url, shop["sk"], "Erase me")
    bob = await accept(srv.http_url, room["invite"]["code"], SECRET_NAME)
    cy = await accept(srv.http_url, room["invite"]["code"], "Cy")
    owner, _ = await RawClient.join(srv.ws_url, room["token"])
    bob_ws, _ = await RawClient.join(srv.ws_url, bob["token"])
    cy_ws, cy_welcome = await RawClient.join(srv.ws_url, cy["token"])
    cy_state = cy_welcome.snapshot or RoomState()
    await bob_ws.op(CartAdd(product=SHIRT))
    await bob_ws.op(Chat(text=SECRET_TEXT, product=SHIRT))
    await owner.op(Chat(text="noted"))
    for _ in range(3):
        await cy_ws.op(Chat(text="filler"))  # past --snapshot-every 3: stored snapshots hold Bob's data
    # checkout snapshots name Bob: as requester (mine) and as the author of a line (all)
    await bob_ws.op(CheckoutRequest(scope="mine"))
    await owner.op(CheckoutRequest(scope="all"))
    events = await cy_ws.events_until(cy_welcome.seq + 8)
    fold(events, cy_state)
    assert any(_leaks(e) for e in events)
    checkouts = [e.op for e in events if isinstance(e.op, CheckoutStart)]
    assert len(checkouts) == 2 and all(_leaks(c) for c in checkouts)
    base, h = srv.http_url + "/v1/admin", sk(shop["sk"])
    async with httpx.AsyncClient() as http:
        r = await http.delete(base + f"/rooms/{room['room']}/members/{bob['member']}", headers=h)
        assert r.status_code == 200, r.text
        erased = r.json()
        assert erased["rewritten"] >= 2  # the join and the chat (and the snapshot, when it held them)
        # live: Bob is disconnected, the others fold member.erase
        assert await bob_ws.closed_with() == CloseCode.FORBIDDEN
        event = await cy_ws.expect(Event, seq=erased["seq"])
        assert isinstance(event.op, MemberErase)
        fold([event], cy_state)
        assert not _leaks(cy_state)
        # every API
        detail = (await http.get(base + f"/rooms/{room['room']}", headers=h)).json()
        snap = (await http.get(srv.http_url + f"/v1/rooms/{room['room']}/snapshot", headers=sk(cy["token"]))).json()
        listing = (await http.get(base + "/rooms", headers=h)).json()
        for body in (detail, snap, listing):
            assert not _leaks(body), body
        assert msgspec_state(snap["state"]) == cy_state  # the live replica folds equal
        info = detail["state"]["members"][bob["member"]]
        assert info == {"name": "", "role": "member", "kicked": True, "erased": True}
        # the retailer's checkout lookup: no name of Bob's, and the scrubbed snapshot no
        # longer verifies (protocol/SPEC.md section 8.5)
        for checkout in checkouts:
            r = await http.get(srv.http_url + f"/v1/checkouts/{checkout.id}", headers=h)
            assert r.status_code == 200, r.text
            assert not _leaks(r.json()) and r.json()["valid"] is False
            assert r.json()["checkout"]["sig"] == checkout.sig
    await bob_ws.close()

    async def replays(server: ServerProcess) -> None:
        """A fresh join (snapshot), a resume from 0 (the whole log) and from 3: nothing of Bob's."""
        for resume in (None, Resume(epoch=cy_welcome.epoch, seq=0), Resume(epoch=cy_welcome.epoch, seq=3)):
            client, welcome = await RawClient.join(server.ws_url, room["token"], resume=resume)
            assert not _leaks(welcome), resume
            if welcome.snapshot is not None:
                assert welcome.snapshot == cy_state
            elif resume is not None and resume.seq == 0:
                assert fold(welcome.events) == cy_state
            await client.close()

    await replays(srv)
    # what is stored: every event and the snapshot of the room, decoded
    with sqlite3.connect(srv.db) as db:
        bodies = [b for (b,) in db.execute("SELECT body FROM events WHERE room_id = ?", (room["room"],))]
        snaps = [b for (b,) in db.execute("SELECT state FROM snapshots WHERE room_id = ?", (room["room"],))]
    assert snaps and len(bodies) == cy_state.seq
    assert not any(SECRET_NAME.encode() in b or SECRET_TEXT.encode() in b for b in [*bodies, *snaps])
    await owner.close()
    await cy_ws.close()
    # after a restart the room is loaded from the rewritten log and snapshot
    await srv.restart()
    await replays(srv)
    client, welcome = await RawClient.join(srv.ws_url, cy["token"], resume=Resume(epoch=cy_welcome.epoch, seq=0))
    assert not _leaks(welcome)
    await client.close()


def msgspec_state(data: dict[str, Any]) -> RoomState:
    import msgspec

    return msgspec.convert(data, RoomState)


async def test_erasing_an_unknown_member_is_404(srv: ServerProcess) -> None:
    shop = await make_tenant(f"sqlite:///{srv.db}")
    room = await new_room(srv.http_url, shop["sk"], "R")
    async with httpx.AsyncClient() as http:
        r = await http.delete(srv.http_url + f"/v1/admin/rooms/{room['room']}/members/m_nobody", headers=sk(shop["sk"]))
        assert r.status_code == 404 and r.json()["error"]["code"] == "member_not_found"


async def test_retention_closes_idle_rooms_then_purges_them(tmp_path: Path) -> None:
    proc = await start(tmp_path, "retention", retention_sweep_seconds="0.2")
    try:
        shop = await make_tenant(f"sqlite:///{proc.db}")
        other = await make_tenant(f"sqlite:///{proc.db}", "No policy")
        room = await new_room(proc.http_url, shop["sk"], "Idle")
        kept = await new_room(proc.http_url, other["sk"], "Kept")
        member, _ = await RawClient.join(proc.ws_url, room["token"])
        base, h = proc.http_url + "/v1/admin", sk(shop["sk"])
        async with httpx.AsyncClient() as http:
            policy = {"close_after_seconds": 1, "purge_after_seconds": 1}
            r = await http.put(base + "/retention", json=policy, headers=h)
            assert r.status_code == 200 and r.json() == {"policy": policy}
            assert (await http.get(base + "/retention", headers=h)).json() == {"policy": policy}
            closing = await member.expect(Event, timeout=20.0)
            assert isinstance(closing.op, RoomClose) and closing.op.reason == "retention"

            async def closed() -> bool | None:
                detail = (await http.get(base + f"/rooms/{room['room']}", headers=h)).json()
                return True if detail.get("closed_at") else None

            await poll(closed)

            async def purged() -> bool | None:
                r = await http.get(base + f"/rooms/{room['room']}", headers=h)
                return True if r.status_code == 404 else None

            await poll(purged)
            assert await member.closed_with() == CloseCode.ROOM_NOT_FOUND
            # a tenant without a policy keeps its rooms
            kept_detail = await http.get(base + f"/rooms/{kept['room']}", headers=sk(other["sk"]))
            assert kept_detail.status_code == 200 and kept_detail.json()["closed"] is False
            r = await http.delete(base + "/retention", headers=h)
            assert r.json() == {"policy": None}
    finally:
        proc.kill()


async def test_welcome_of_closed_room_is_refused_but_resume_data_is_not_needed(srv: ServerProcess) -> None:
    """A member already in a closed room cannot reconnect either: the room is over."""
    shop = await make_tenant(f"sqlite:///{srv.db}")
    room = await new_room(srv.http_url, shop["sk"], "Over")
    async with httpx.AsyncClient() as http:
        await http.post(srv.http_url + f"/v1/admin/rooms/{room['room']}/close", json={}, headers=sk(shop["sk"]))
    client = await RawClient.open(srv.ws_url)
    from protocol.messages import Hello

    await client.send(Hello(token=room["token"]))
    err = await client.expect(Error)
    assert err.code == ErrorCode.ROOM_CLOSED and not isinstance(err, Welcome)
    assert await client.closed_with() == CloseCode.FORBIDDEN
