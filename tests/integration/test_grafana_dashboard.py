"""The Grafana dashboard in deploy/grafana/ names only metrics a live server exports.

A real server gets real traffic (joins, ops of several types, a resume, one webhook
delivered to a real receiver, one call to a real catalog endpoint), its ``/metrics``
is parsed with prometheus_client's own parser, and every metric name in every dashboard
expression (panels and template variables) must be among the scraped samples.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from protocol.messages import Ack, CartAdd, Chat, Product, Resume, Vote
from tests.integration.test_tenants import bearer, create_tenant
from tests.support.catalog_server import CatalogServer
from tests.support.raw import RawClient
from tests.support.server import ServerProcess
from tests.support.webhook_receiver import Receiver

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "cosession.json"

# PromQL words that look like identifiers but are not metric names
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan",
}  # fmt: skip
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (a small PromQL scanner: drops strings, label
    matchers, ``by (...)`` lists, range durations, function names and keywords)."""
    names = set(re.findall(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,", expr))
    expr = re.sub(r"label_values\([^)]*\)", " ", expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    for match in _IDENT.finditer(expr):
        word = match.group(0)
        after = expr[match.end() :].lstrip()
        if after.startswith("(") or word.lower() in _PROMQL_WORDS or word.startswith("$"):
            continue
        if match.start() > 0 and expr[match.start() - 1] == "$":
            continue  # a Grafana variable such as $__rate_interval
        names.add(word)
    return names


def dashboard_expressions(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["query"] for v in dashboard.get("templating", {}).get("list", []) if v.get("type") == "query"]
    return exprs


def exported_samples(text: str) -> dict[str, float]:
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}


def missing_metrics(dashboard: dict[str, Any], exported: set[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for expr in dashboard_expressions(dashboard):
        names = metric_names(expr)
        lacking = {n for n in names if n not in exported} if names else {"(no metric at all)"}
        if lacking:
            out[expr] = lacking
    return out


def test_scanner_finds_names_and_flags_a_missing_one() -> None:
    expr = 'histogram_quantile(0.99, sum by (le) (rate(cosession_op_ack_seconds_bucket{instance=~"$i"}[$__rate])))'
    assert metric_names(expr) == {"cosession_op_ack_seconds_bucket"}
    assert metric_names("sum(a_total) / sum(b_count)") == {"a_total", "b_count"}
    assert metric_names("label_values(cosession_connections, instance)") == {"cosession_connections"}
    fake = {"panels": [{"targets": [{"expr": "rate(cosession_no_such_metric_total[5m])"}]}]}
    assert missing_metrics(fake, {"cosession_ops_total"}) == {
        "rate(cosession_no_such_metric_total[5m])": {"cosession_no_such_metric_total"}
    }


async def _acked(client: RawClient, body: Any) -> int:
    ref = await client.op(body)
    return (await client.expect(Ack, ref=ref)).seq


async def _traffic(server: ServerProcess) -> None:
    """Three joins (one a resume) and ops of three types."""
    room = await server.create_room(name="Dashboard", owner_name="Ana")
    member = await server.accept(room["invite"]["code"], "Bo")
    owner, welcome = await RawClient.join(server.ws_url, room["token"])
    bo, _ = await RawClient.join(server.ws_url, member["token"])
    line = await _acked(owner, CartAdd(product=Product(id="sku-1", name="Shoe", price=5000, currency="EUR")))
    await _acked(bo, Vote(line=line, value="up"))
    seen = await _acked(owner, Chat(text="nice"))
    await bo.close()
    await _acked(owner, Chat(text="while Bo is away"))
    again, resumed = await RawClient.join(server.ws_url, member["token"], resume=Resume(epoch=welcome.epoch, seq=seen))
    assert resumed.recovered
    await again.close()
    await owner.close()


async def _retail_traffic(server: ServerProcess, receiver: Receiver, catalog: CatalogServer) -> None:
    """A tenant with a webhook endpoint and a catalog: its room's creation is one webhook,
    the cart.add in it one catalog call."""
    tenant = await create_tenant(server)
    async with httpx.AsyncClient(base_url=server.http_url, headers=bearer(tenant["secret_key"])) as http:
        r = await http.post("/v1/webhooks/endpoints", json={"url": receiver.url, "event_types": ["room.created"]})
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]
        assert (await http.put("/v1/tenant/catalog", json={"url": catalog.url})).status_code == 200
        r = await http.post("/v1/rooms", json={"name": "Shop room"})
        assert r.status_code == 201, r.text
    owner, _ = await RawClient.join(server.ws_url, r.json()["token"])
    await _acked(owner, CartAdd(product=Product(id="sku-2", name="Hat", price=2500, currency="EUR")))
    await receiver.wait_for(1)
    await owner.close()


async def _scrape_until(server: ServerProcess, *names: str, timeout: float = 10.0) -> str:
    """``/metrics`` once each of ``names`` is above 0 (the counters move after the answer)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        while True:
            response = await http.get("/metrics")
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
            samples = exported_samples(response.text)
            if all(samples.get(n, 0) > 0 for n in names) or time.monotonic() > deadline:
                return response.text
            await asyncio.sleep(0.05)


async def test_every_dashboard_metric_is_exported_by_a_live_server(server: ServerProcess) -> None:
    await _traffic(server)
    receiver, catalog = await Receiver().start(), CatalogServer()
    await catalog.start()
    try:
        await _retail_traffic(server, receiver, catalog)
        text = await _scrape_until(server, "cosession_webhook_deliveries_total", "cosession_catalog_successes_total")
    finally:
        await receiver.stop()
        await catalog.stop()
    samples = exported_samples(text)
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard_expressions(dashboard), "the dashboard has no queries"
    assert missing_metrics(dashboard, set(samples)) == {}
    # the traffic reached the instruments the dashboard draws
    assert samples["cosession_joins_total"] >= 3 and samples["cosession_resumes_total"] >= 1
    assert samples["cosession_op_ack_seconds_count"] >= 3
    assert samples["cosession_fanout_seconds_count"] >= 3
    by_type = {
        s.labels["type"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "cosession_ops_by_type_total"
    }
    assert by_type == {"cart.add": 2, "vote": 1, "chat": 2}
    # the webhook and the catalog call reached their panels' metrics
    assert samples["cosession_webhook_deliveries_total"] >= 1 and samples["cosession_webhook_enqueued_total"] >= 1
    assert samples["cosession_catalog_calls_total"] >= 1 and samples["cosession_catalog_successes_total"] >= 1
    assert catalog.calls >= 1 and len(receiver.accepted) == 1
