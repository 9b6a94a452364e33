"""The webhook endpoint API against a real server: secret key only, bad bodies and URLs
refused with stable codes, per-tenant isolation, enable/disable, and the flood limit."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.test_tenants import bearer, create_tenant
from tests.support.server import ServerProcess

BASE = "/v1/webhooks/endpoints"


async def start(tmp_path: Path, **env: str) -> ServerProcess:
    server = ServerProcess(tmp_path, env=env)
    await server.start()
    return server


def code_of(r: httpx.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


async def test_endpoint_lifecycle_and_tenant_isolation(tmp_path: Path) -> None:
    server = await start(tmp_path, COSESSION_MAX_WEBHOOK_ENDPOINTS="1")
    try:
        shop, other = await create_tenant(server), await create_tenant(server, name="Other")
        key = bearer(shop["secret_key"])
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            r = await http.post(
                BASE,
                json={"url": "https://shop.example/hooks", "event_types": ["member.joined"], "description": "crm"},
                headers=key,
            )
            assert r.status_code == 201, r.text
            created = r.json()
            assert created["secret"].startswith("whsec_") and created["enabled"] is True
            assert created["event_types"] == ["member.joined"]
            ep = created["id"]
            r = await http.post(BASE, json={"url": "https://shop.example/more"}, headers=key)
            assert r.status_code == 409 and code_of(r) == "too_many_endpoints"
            listed = (await http.get(BASE, headers=key)).json()["endpoints"]
            assert [e["id"] for e in listed] == [ep] and "secret" not in listed[0]  # shown once
            r = await http.patch(f"{BASE}/{ep}", json={"enabled": False}, headers=key)
            assert r.status_code == 200 and r.json()["enabled"] is False
            assert (await http.get(f"{BASE}/{ep}", headers=key)).json()["enabled"] is False
            assert (await http.get(f"{BASE}/{ep}/messages", headers=key)).json() == {"messages": []}
            # another tenant sees nothing of it
            theirs = bearer(other["secret_key"])
            assert (await http.get(BASE, headers=theirs)).json() == {"endpoints": []}
            for method, path in (("GET", f"{BASE}/{ep}"), ("DELETE", f"{BASE}/{ep}"), ("GET", f"{BASE}/{ep}/messages")):
                r = await http.request(method, path, headers=theirs)
                assert r.status_code == 404 and code_of(r) == "endpoint_not_found", (method, path)
            r = await http.get(f"{BASE}/{ep}/messages/msg_nope", headers=key)
            assert r.status_code == 404 and code_of(r) == "message_not_found"
            assert (await http.delete(f"{BASE}/{ep}", headers=key)).status_code == 204
            assert (await http.get(BASE, headers=key)).json() == {"endpoints": []}
    finally:
        server.kill()


async def test_unauthorized_and_bad_input_get_stable_codes(tmp_path: Path) -> None:
    server = await start(tmp_path)
    try:
        shop = await create_tenant(server, "https://shop.example")
        key = bearer(shop["secret_key"])
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            ok = {"url": "https://shop.example/hooks"}
            for headers in ({}, bearer("sk_wrong"), {"authorization": "Basic abc"}):
                r = await http.post(BASE, json=ok, headers=headers)
                assert r.status_code == 401 and code_of(r) == "unauthorized", headers
                assert (await http.get(BASE, headers=headers)).status_code == 401
            # a publishable key (public, in web pages) may not manage webhooks
            r = await http.get(BASE, headers=bearer(shop["publishable_key"], "https://shop.example"))
            assert r.status_code == 403
            cases: list[tuple[object, int, str]] = [
                (b"{not json", 400, "bad_json"),
                ({"url": "https://x.example", "colour": "red"}, 422, "invalid_field"),
                ({"url": 5}, 422, "invalid_field"),
                ({}, 422, "invalid_field"),
                ({"url": "https://x.example/\u0000"}, 422, "invalid_field"),
                ({"url": "x" * 3000}, 422, "invalid_field"),
                ({"url": "ftp://x.example/hook"}, 422, "invalid_url"),
                ({"url": "javascript:alert(1)"}, 422, "invalid_url"),
                ({"url": "file:///etc/passwd"}, 422, "invalid_url"),
                ({"url": "http:///nohost"}, 422, "invalid_url"),
                ({"url": "https://user:pw@x.example/"}, 422, "invalid_url"),
                ({"url": "https://x.example:99999/"}, 422, "invalid_url"),
                ({"url": "https://x.example/", "event_types": ["cart.add"]}, 422, "invalid_field"),
                ({"url": "https://x.example/", "event_types": ["member.joined"] * 40}, 422, "invalid_field"),
                ({"url": "https://x.example/", "description": "d" * 9000}, 413, "too_large"),
            ]
            for body, status, code in cases:
                if isinstance(body, bytes):
                    r = await http.post(BASE, content=body, headers=key)
                else:
                    r = await http.post(BASE, json=body, headers=key)
                assert (r.status_code, code_of(r)) == (status, code), (body, r.text)
            r = await http.patch(f"{BASE}/ep_nope", json={"enabled": "yes"}, headers=key)
            assert r.status_code == 422 and code_of(r) == "invalid_field"
            r = await http.get(f"{BASE}/ep_nope/messages?limit=100000", headers=key)
            assert r.status_code == 422 and code_of(r) == "invalid_field"  # the query is decoded first
            r = await http.get(f"{BASE}/ep_nope/messages?status=gone", headers=key)
            assert r.status_code == 422 and code_of(r) == "invalid_field"
            assert (await http.get(f"{BASE}/ep_nope/messages?limit=5", headers=key)).status_code == 404
            assert (await http.get(BASE, headers=key)).json() == {"endpoints": []}  # nothing was made
            assert (await http.get("/healthz")).status_code == 200
    finally:
        server.kill()


async def test_flooding_the_api_gets_429_per_tenant(tmp_path: Path) -> None:
    server = await start(tmp_path, COSESSION_WEBHOOKS_API_PER_MINUTE="5")
    try:
        shop, other = await create_tenant(server), await create_tenant(server, name="Other")
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            statuses = [(await http.get(BASE, headers=bearer(shop["secret_key"]))).status_code for _ in range(8)]
            assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
            r = await http.get(BASE, headers=bearer(shop["secret_key"]))
            assert code_of(r) == "rate_limited" and int(r.headers["retry-after"]) >= 1
            # another tenant is not slowed down by it
            assert (await http.get(BASE, headers=bearer(other["secret_key"]))).status_code == 200
    finally:
        server.kill()
