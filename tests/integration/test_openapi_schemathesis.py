"""schemathesis against the served ``/v1/openapi.json`` of a live server: every described
operation, with generated valid and invalid inputs and real credentials, must answer
without a server error and with a status, content type and body the document allows.
Bounded: a few dozen examples per operation (the whole module runs well under a minute).

Also: the document covers every ``/v1`` HTTP route of the app, and ``/v1/docs`` renders it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.routing import Route

from cosession.app import create_app
from cosession.config import Settings
from tests.support.admin import make_tenant, new_room
from tests.support.server import ServerProcess

MAX_EXAMPLES = 15
# see _fuzz; "bad code": e.g. a code of digits must be a GTIN with a valid check digit (SPEC §20.1);
# "bad store id": a store id is a URL slug (SPEC §20.3), the document's path parameters are plain strings;
# the last two: a push subscription's keys must be a real P-256 point (SPEC 18.3)
POSITIVE_REFUSALS = (
    "got `float`",
    "bad cursor",
    "bad window",
    "on this server",
    "bad code",
    "bad store id",
    "P-256",
    "65 bytes",
)


class Live:
    def __init__(self, proc: ServerProcess, tenant: dict[str, str], room: dict[str, Any], buyer: str) -> None:
        self.proc = proc
        self.tenant = tenant
        self.room = room
        self.buyer = buyer  # a verified buyer's bt_ token (product Q&A)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    # No per-minute budgets: the fuzz test spends them, and the stateful test after it would
    # then meet 429s where a link's producer should have answered (an empty bundle: Hypothesis
    # calls that a flaky precondition). Rate limits have tests of their own.
    budgets = ("rooms", "accepts", "pk_invites", "trends", "webhooks_api", "notify_api", "admin")
    budgets += ("qa_buyer_answers", "qa_tenant_answers", "catalog_lookups", "help_claims")
    env = {f"COSESSION_{name.upper()}_PER_MINUTE": "0" for name in budgets}
    proc = ServerProcess(tmp_path_factory.mktemp("schemathesis"), env=env)

    async def setup() -> Live:
        await proc.start()
        tenant = await make_tenant(f"sqlite:///{proc.db}")
        room = await new_room(proc.http_url, tenant["sk"], "Fuzzed")
        async with httpx.AsyncClient(base_url=proc.http_url) as http:
            made = await http.post(
                "/v1/tenant/buyers", json={"name": "Dana"}, headers={"authorization": f"Bearer {tenant['sk']}"}
            )
        return Live(proc, tenant, room, made.json()["token"])

    try:
        yield asyncio.run(setup())
    finally:
        proc.kill()


def _real_room(case: Any, live: Live, flip: int) -> None:
    """For some cases, the real room in the path instead of a generated id."""
    if "room" in (case.path_parameters or {}) and flip % 3 == 0:
        case.path_parameters["room"] = live.room["room"]


# Traffic stays on 127.0.0.1: a generated webhook or catalog URL that the server would
# store (and then call) is replaced by a closed local port (connection refused).
LOCAL_URL = "http://127.0.0.1:9/hook"


def _local_urls(case: Any) -> None:
    if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
        case.body["url"] = LOCAL_URL
    if isinstance(case.body, dict) and isinstance(case.body.get("endpoint"), str):  # a push subscription
        case.body["endpoint"] = "https://127.0.0.1:9/push"


def _fuzz(operation: Any, mode: GenerationMode, live: Live, counter: Iterator[int]) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        _real_room(case, live, next(counter))
        _local_urls(case)
        # JSON Schema counts 2.0 as an integer; the API (SPEC.md section 2) takes JSON
        # integers only; a cursor is only valid when the server made it; and a trends
        # window must not be reversed nor too long (a rule across two fields); a k below
        # the server's configured floor ("on this server") is refused. The acceptance
        # check is ours, allowing exactly these refusals.
        url = live.proc.http_url
        response = case.call(base_url=url)
        excluded = [positive_data_acceptance]
        if response.status_code == 503 and "catalog_unavailable" in response.text:
            excluded.append(not_a_server_error)  # the tenant's catalog URL is LOCAL_URL: a closed port
        case.validate_response(response, excluded_checks=excluded)
        if mode is GenerationMode.POSITIVE and response.status_code in (400, 422):
            assert any(s in response.text for s in POSITIVE_REFUSALS), response.text

    return run  # type: ignore[no-any-return]


def test_api_conforms_to_its_openapi_document(live: Live) -> None:
    # real credentials for each security scheme of the document
    schemes = {
        "secretKey": {"bearer": live.tenant["sk"]},
        "memberToken": {"bearer": live.room["token"]},
        "publishableKey": {"bearer": live.tenant["pk"]},
        "buyerToken": {"bearer": live.buyer},
    }
    config = SchemathesisConfig.from_dict({"auth": {"openapi": schemes}})
    schema = schemathesis.openapi.from_url(live.proc.http_url + "/v1/openapi.json", config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 27
    counter = iter(range(10**9))
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, live, counter)()
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_stateful_sequences_follow_the_documents_links(live: Live) -> None:
    """Create a room, then use its id (and the invite code, the member id) in the linked
    operations: snapshot, invites, read, close, delete, erase. Bounded scenarios."""
    schemes = {"secretKey": {"bearer": live.tenant["sk"]}, "memberToken": {"bearer": live.room["token"]}}
    config = SchemathesisConfig.from_dict({"auth": {"openapi": schemes}})
    schema = schemathesis.openapi.from_url(live.proc.http_url + "/v1/openapi.json", config=config)
    # the help queue's routes declare no links (the fuzz test above covers them); inferred
    # links into them made the run's rules depend on server state between replays
    schema = schema.exclude(tag="help")
    base = live.proc.http_url

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            _local_urls(case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            if response.status_code in (400, 422) and "got `float`" in response.text:
                return  # JSON Schema's integer admits 2.0; the API does not (see above)
            case.validate_response(response, excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs)

    Machine.run(
        settings=settings(
            max_examples=MAX_EXAMPLES, stateful_step_count=6, deadline=None,
            suppress_health_check=list(HealthCheck), database=None,
        )
    )  # fmt: skip


def test_document_covers_every_v1_route(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret="s"))
    served = {
        (method, r.path)
        for r in app.routes
        if isinstance(r, Route) and r.path.startswith("/v1/")
        for method in (r.methods or ()) - {"HEAD"}
    }
    served -= {("GET", "/v1/openapi.json"), ("GET", "/v1/docs")}
    doc = asyncio.run(_document(app))
    described = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert served == described
    assert doc["openapi"].startswith("3.1")
    assert set(doc["components"]["securitySchemes"]) == {
        "secretKey",
        "publishableKey",
        "memberToken",
        "buyerToken",
        "associateToken",
    }


async def _document(app: Any) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        r = await http.get("/v1/openapi.json")
        data: dict[str, Any] = r.json()
        return data


async def test_docs_page_renders_every_operation_self_contained(live: Live) -> None:
    async with httpx.AsyncClient() as http:
        doc = (await http.get(live.proc.http_url + "/v1/openapi.json")).json()
        page = await http.get(live.proc.http_url + "/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script" not in html and "http://" not in html.replace(live.proc.http_url, "") and "https://" not in html
    for path, ops in doc["paths"].items():
        assert path in html
        for op in ops.values():
            assert f"id={op['operationId']}" in html
    for name in doc["components"]["schemas"]:
        assert f"id={name}>" in html
