"""Bad input to the help queue, each answered with its documented code (SPEC 21): malformed,
oversized and forbidden ops; REST without, with forged, revoked or the wrong kind of
credential; malformed ids and cursors; floods of claims and streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.errors import ErrorCode
from protocol.messages import Ack, Error, HelpRequest
from tests.support.admin import make_tenant, new_room
from tests.support.help import SseReader, bearer, claim, new_associate
from tests.support.raw import RawClient
from tests.support.server import ServerProcess


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {"COSESSION_HELP_CLAIMS_PER_MINUTE": "5", "COSESSION_HELP_STREAMS_PER_ASSOCIATE": "2"}
    proc = ServerProcess(tmp_path, "--ops-per-second", "1", "--ops-burst", "12", env=env)
    await proc.start()
    try:
        yield proc
    finally:
        proc.kill()


async def _error(client: RawClient, ref: str) -> str:
    err = await client.expect(Error, ref=ref)
    return err.code


async def test_bad_help_ops(server: ServerProcess) -> None:
    tenant = await make_tenant(f"sqlite:///{server.db}")
    room = await new_room(server.http_url, tenant["sk"], "Shoes")
    async with httpx.AsyncClient() as http:
        r = await http.post(
            server.http_url + f"/v1/rooms/{room['room']}/invites", json={"role": "viewer"}, headers=bearer(tenant["sk"])
        )
        code = r.json()["code"]
        viewer_token = (await http.post(server.http_url + f"/v1/invites/{code}/accept", json={"name": "Vic"})).json()
    owner, _ = await RawClient.join(server.ws_url, room["token"], fmt="json")
    viewer, _ = await RawClient.join(server.ws_url, viewer_token["token"])
    try:
        malformed = [
            '{"t":"op","ref":"m1","op":{"t":"help.request","where":"home"}}',
            '{"t":"op","ref":"m2","op":{"t":"help.request","note":"' + "n" * 501 + '"}}',
            '{"t":"op","ref":"m3","op":{"t":"help.request","department":"' + "d" * 101 + '"}}',
            '{"t":"op","ref":"m4","op":{"t":"help.request","note":"a\\u0000b"}}',
            '{"t":"op","ref":"m5","op":{"t":"help.claim","request":1,"associate":"as_x","name":"X"}}',
            '{"t":"op","ref":"m6","op":{"t":"help.close","request":1,"by":"m_x"}}',
        ]
        for frame in malformed:
            await owner.send_raw(frame)
            err = await owner.expect(Error)
            assert err.code == ErrorCode.INVALID_FIELD, (frame[:60], err)
        ref = await viewer.op(HelpRequest())
        assert await _error(viewer, ref) == ErrorCode.FORBIDDEN
        ref = await owner.op(HelpRequest(where="in_store"))
        await owner.expect(Ack, ref=ref)
        ref = await owner.op(HelpRequest())
        assert await _error(owner, ref) == ErrorCode.HELP_PENDING
        # flooding: past the op rate the room answers rate_limited
        codes = set()
        for i in range(30):
            await owner.op(HelpRequest(), ref=f"f{i}")
        for _ in range(30):
            codes.add((await owner.expect(Error)).code)
        assert ErrorCode.RATE_LIMITED in codes and codes <= {ErrorCode.RATE_LIMITED, ErrorCode.HELP_PENDING}
    finally:
        await owner.close()
        await viewer.close()


async def test_bad_associate_api_calls(server: ServerProcess) -> None:
    tenant = await make_tenant(f"sqlite:///{server.db}")
    other = await make_tenant(f"sqlite:///{server.db}", "Other shop")
    room = await new_room(server.http_url, tenant["sk"], "Shoes")
    mia = await new_associate(server.http_url, tenant["sk"], "Mia")
    base = server.http_url
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    ref = await owner.op(HelpRequest())
    seq = (await owner.expect(Ack, ref=ref)).seq
    request_id = f"{room['room']}:{seq}"

    async def status(method: str, path: str, token: str | None = None, **kw: Any) -> tuple[int, str]:
        async with httpx.AsyncClient() as http:
            headers = {**bearer(token), **kw.pop("headers", {})} if token else kw.pop("headers", {})
            r = await http.request(method, base + path, headers=headers, **kw)
        code = r.json()["error"]["code"] if r.status_code >= 400 else ""
        return r.status_code, code

    try:
        # no credential, forged, wrong kind
        assert await status("GET", "/v1/associates/queue") == (401, "unauthorized")
        forged = mia["token"][:-3] + ("AAA" if not mia["token"].endswith("AAA") else "BBB")
        assert await status("GET", "/v1/associates/queue", forged) == (401, "unauthorized")
        assert await status("GET", "/v1/associates/queue", "at_as_nobody.x") == (401, "unauthorized")
        assert await status("GET", "/v1/associates/me", tenant["sk"]) == (403, "wrong_token")
        assert await status("GET", "/v1/associates/me", room["token"]) == (403, "wrong_token")
        assert await status("GET", "/v1/associates/me", tenant["pk"]) == (403, "forbidden")
        assert await status("POST", "/v1/tenant/associates", mia["token"], json={"name": "X"}) == (401, "unauthorized")
        assert await status("GET", "/v1/admin/help/stats", mia["token"]) == (401, "unauthorized")
        # malformed bodies, oversized bodies, unknown ids
        assert await status("POST", "/v1/tenant/associates", tenant["sk"], content=b"{nope") == (400, "bad_json")
        assert await status("POST", "/v1/tenant/associates", tenant["sk"], json={"name": ""}) == (422, "invalid_field")
        assert await status("POST", "/v1/tenant/associates", tenant["sk"], json={"name": "a\x00b"}) == (
            422,
            "invalid_field",
        )
        big = {"name": "X", "stores": ["s" * 60] * 300}
        assert await status("POST", "/v1/tenant/associates", tenant["sk"], json=big) == (413, "too_large")
        assert await status("POST", "/v1/associates/requests/nonsense/claim", mia["token"]) == (
            404,
            "request_not_found",
        )
        assert await status("POST", f"/v1/associates/requests/{room['room']}:99/claim", mia["token"]) == (
            404,
            "request_not_found",
        )
        stranger = await new_associate(base, other["sk"], "Zed")  # another tenant's associate sees nothing
        assert await status("POST", f"/v1/associates/requests/{request_id}/claim", stranger["token"]) == (
            404,
            "request_not_found",
        )
        r = await status("GET", "/v1/associates/queue/stream", mia["token"], headers={"last-event-id": "abc"})
        assert r == (422, "invalid_field")
        assert await status("GET", "/v1/admin/help/stats?days=0", tenant["sk"]) == (422, "invalid_field")
        assert await status("DELETE", "/v1/tenant/associates/as_nobody", tenant["sk"]) == (404, "associate_not_found")
        # a member who did not ask cannot close the room's request
        async with httpx.AsyncClient() as http:
            inv = await http.post(
                base + f"/v1/rooms/{room['room']}/invites", json={"role": "member"}, headers=bearer(tenant["sk"])
            )
            bo = (await http.post(base + f"/v1/invites/{inv.json()['code']}/accept", json={"name": "Bo"})).json()
        assert await status("POST", f"/v1/rooms/{room['room']}/help/{seq}/close", bo["token"]) == (403, "forbidden")
        assert await status("POST", f"/v1/rooms/{room['room']}/help/99/close", room["token"]) == (
            404,
            "request_not_found",
        )
        # flooding: streams per associate, then claims per minute
        streams = [await SseReader(base + "/v1/associates/queue/stream", mia["token"]).start() for _ in range(2)]
        try:
            assert await status("GET", "/v1/associates/queue/stream", mia["token"]) == (429, "too_many_streams")
        finally:
            for s in streams:
                await s.close()
        codes = [(await claim(base, mia["token"], request_id)).status_code for _ in range(8)]
        assert codes[0] == 200 and 429 in codes and set(codes) <= {200, 429}, codes
        # a revoked associate's token stops working
        assert await status("DELETE", f"/v1/tenant/associates/{mia['associate']}", tenant["sk"]) == (204, "")
        assert await status("GET", "/v1/associates/queue", mia["token"]) == (401, "token_revoked")
    finally:
        await owner.close()
