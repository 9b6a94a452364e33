"""Join tokens over a real server: any malformed token is ``unauthorized`` (REST 401; WS
``error unauthorized`` + close 4001), never a 500 or a dropped connection, and a token
minted from SPEC section 11 alone (HMAC-SHA256 keyed with the secret) is accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import unicodedata

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import CloseCode, ErrorCode
from protocol.messages import Error, Hello, Welcome
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

SECRET = "test-secret"  # what tests/support/server.py passes with --secret

NASTY = [
    "v1.abc.déf",  # non-ASCII in the signature: hmac.compare_digest(str, str) raised TypeError
    "v1.ünïcödé.x",
    "ü" * 200,
    "v1.eyJ9.€",
    "v1..",
    "..",
    "v1.a.b.c",
    "garbage",
    "v1.!!!.???",
    "v2.abc.def",
]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_per_spec(room: str, member: str, role: str, name: str) -> str:
    now = int(time.time())
    claims = {"room": room, "member": member, "role": role, "name": name, "iat": now, "exp": now + 600}
    body = "v1." + b64(json.dumps(claims).encode())
    return body + "." + b64(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())


async def rest_status(server: ServerProcess, room: str, token: str) -> tuple[int, dict[str, object]]:
    # header values go out as UTF-8 bytes: the server sees them as latin-1 text
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{server.http_url}/v1/rooms/{room}/snapshot", headers={b"authorization": b"Bearer " + token.encode()}
        )
    return response.status_code, response.json()


async def ws_refusal(server: ServerProcess, token: str) -> tuple[Error, int | None]:
    client = await RawClient.open(server.ws_url)
    try:
        await client.send(Hello(token=token))
        error = await client.expect(Error)
        return error, await client.closed_with()
    finally:
        await client.close()


async def test_nasty_tokens_are_unauthorized_on_rest_and_ws(server: ServerProcess) -> None:
    room = await server.create_room()
    for token in NASTY:
        status, body = await rest_status(server, room["room"], token)
        assert status == 401, (token, status, body)
        assert body["error"]["code"] == "unauthorized"  # type: ignore[index]
        error, code = await ws_refusal(server, token)
        assert error.code == ErrorCode.UNAUTHORIZED, (token, error)
        assert code == CloseCode.UNAUTHORIZED, token
    # the server is fine afterwards
    client, _ = await RawClient.join(server.ws_url, room["token"])
    await client.close()


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
async def test_arbitrary_token_text_never_crashes_the_ws(server: ServerProcess, fmt: str) -> None:
    room = await server.create_room()
    seen: list[str] = []

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=60))
    def tokens(token: str) -> None:
        seen.append(token)

    tokens()
    for token in seen:
        client = await RawClient.open(server.ws_url, fmt)
        try:
            await client.send(Hello(token=token))
            error = await client.expect(Error)
            assert error.code == ErrorCode.UNAUTHORIZED, (token, error)
            assert await client.closed_with() == CloseCode.UNAUTHORIZED, token
        finally:
            await client.close()
        if any(unicodedata.category(c) == "Cc" for c in token) or not token.strip():
            continue  # not a valid HTTP header value: the HTTP parser refuses it before the app
        status, body = await rest_status(server, room["room"], token)
        assert status == 401, (token, status, body)


async def test_a_token_minted_per_spec_is_accepted_on_rest_and_ws(server: ServerProcess) -> None:
    room = await server.create_room()
    owner_token = mint_per_spec(room["room"], room["member"], "owner", "Olga")
    status, body = await rest_status(server, room["room"], owner_token)
    assert status == 200, body
    member_token = mint_per_spec(room["room"], "m_spec", "member", "Spec")
    client, welcome = await RawClient.join(server.ws_url, member_token)
    try:
        assert isinstance(welcome, Welcome) and welcome.member == "m_spec"
    finally:
        await client.close()
    # the other way round: what the server issues is what SPEC describes
    body_part, _, mac = room["token"].rpartition(".")
    assert mac == b64(hmac.new(SECRET.encode(), body_part.encode(), hashlib.sha256).digest())
