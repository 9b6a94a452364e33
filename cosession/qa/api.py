"""REST for product Q&A (SPEC section 19), declared with the endpoint layer (OpenAPI).

* ``POST /v1/tenant/buyers`` (secret key) ``{name, products?}`` → ``{buyer, token}``: a
  verified buyer's ``bt_`` token, shown once; ``DELETE /v1/tenant/buyers/{buyer}`` revokes it.
* ``GET /v1/qa/{tenant}/products/{product}`` (no credential): the public thread, with
  question texts and times only (nothing about who asked or from which room), and the
  visible answers with the buyer's display name.
* ``POST /v1/qa/threads/{thread}/answers`` (buyer token) ``{text, question?}``: answer;
  it flows into every room that asked on the thread. 429 per buyer and per tenant.
* ``POST /v1/admin/qa/answers/{answer}/hide`` (secret key): hide an answer everywhere.
"""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request

from cosession.http.api import ApiError, _services
from cosession.http.endpoint import BUYER_TOKEN, NONE, SECRET_KEY, Endpoint, endpoint
from cosession.http.inputs import BodyReader
from cosession.http.ratelimit import retry_after
from cosession.qa.service import QaService
from cosession.qa.store import BUYER_TOKEN_PREFIX, Buyer
from cosession.tenants.auth import TenantAuthError, TenantKey, bearer_token, tenant_key

ProductId = Annotated[str, Meta(min_length=1, max_length=128)]
MAX_ANSWER_BODY = 8 * 1024  # an answer of 2,000 characters fits with room to spare


class BuyerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    products: Annotated[list[ProductId], Meta(max_length=500)] | None = None


class BuyerOut(msgspec.Struct, omit_defaults=True):
    buyer: str
    token: str  # bt_..., shown once
    name: str
    products: list[str] | None = None


class BuyerRevoked(msgspec.Struct):
    buyer: str
    revoked: bool


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, Meta(min_length=1, max_length=2000)]
    question: Annotated[str, Meta(min_length=1, max_length=64)] | None = None  # a question id of the thread


class PublicAnswer(msgspec.Struct, omit_defaults=True):
    id: str
    ts: int
    name: str  # the buyer's display name
    text: str
    question: str | None = None


class PublicQuestionOut(msgspec.Struct):
    id: str
    ts: int
    text: str


class ThreadOut(msgspec.Struct):
    tenant: str
    product: str
    thread: str | None  # None: nobody asked about this product yet
    questions: list[PublicQuestionOut]
    answers: list[PublicAnswer]


class AnswerOut(msgspec.Struct, omit_defaults=True):
    answer: str
    thread: str
    product: str
    name: str
    text: str
    rooms: int  # rooms the answer is being delivered to
    question: str | None = None


class AnswerHidden(msgspec.Struct):
    answer: str
    hidden: bool


def _qa(request: Request) -> QaService:
    qa = _services(request).qa
    if qa is None:  # pragma: no cover - the app always wires it
        raise ApiError(503, "unavailable", "product Q&A is not configured")
    return qa


async def _secret_key(request: Request) -> TenantKey:
    key = await tenant_key(request, allow_publishable=False)
    if key is None:
        raise TenantAuthError(401, "unauthorized", "an Authorization: Bearer sk_... header is required")
    return key


async def _buyer(request: Request) -> Buyer:
    """The verified buyer of the request's ``bt_`` token: 401 without one or for an unknown
    or revoked one; 403 for another kind of credential (secret key, member token)."""
    token = bearer_token(request.headers)
    if token is None:
        raise ApiError(401, "unauthorized", "an Authorization: Bearer bt_... buyer token is required")
    if not token.startswith(BUYER_TOKEN_PREFIX):
        raise ApiError(403, "forbidden", "only a verified buyer's token (bt_...) may answer")
    if len(token) > 128:
        raise ApiError(401, "unauthorized", "unknown or revoked buyer token")
    buyer = await _qa(request).store.buyer_by_token(token)
    if buyer is None:
        raise ApiError(401, "unauthorized", "unknown or revoked buyer token")
    return buyer


async def create_buyer(request: Request, body: BodyReader[BuyerIn]) -> BuyerOut:
    key = await _secret_key(request)
    data = await body.read()
    products = None if data.products is None else list(dict.fromkeys(data.products))
    buyer, token = await _qa(request).store.create_buyer(key.tenant.id, data.name, products)
    return BuyerOut(buyer=buyer.id, token=token, name=buyer.name, products=products)


async def revoke_buyer(request: Request) -> BuyerRevoked:
    key = await _secret_key(request)
    buyer = request.path_params["buyer"]
    if len(buyer) > 64 or not await _qa(request).store.revoke_buyer(key.tenant.id, buyer):
        raise ApiError(404, "buyer_not_found", "no such buyer for this tenant (or already revoked)")
    return BuyerRevoked(buyer=buyer, revoked=True)


async def read_thread(request: Request) -> ThreadOut:
    tenant, product = request.path_params["tenant"], request.path_params["product"]
    if len(tenant) > 64 or not 1 <= len(product) <= 128:
        raise ApiError(404, "thread_not_found", "no such product thread")
    store = _qa(request).store
    thread = await store.thread(tenant, product)
    if thread is None:
        return ThreadOut(tenant=tenant, product=product, thread=None, questions=[], answers=[])
    questions, answers = await store.public_thread(thread)
    return ThreadOut(
        tenant=tenant,
        product=product,
        thread=thread.id,
        questions=[PublicQuestionOut(id=q.id, ts=q.ts, text=q.text) for q in questions],
        answers=[
            PublicAnswer(id=a.id, ts=a.created_at, name=a.name, text=a.text, question=a.question) for a in answers
        ],
    )


def _limit(wait: float, what: str) -> None:
    if wait > 0:
        raise ApiError(429, "rate_limited", f"too many answers {what}: retry later", {"retry-after": retry_after(wait)})


async def post_answer(request: Request, body: BodyReader[AnswerIn]) -> AnswerOut:
    buyer = await _buyer(request)
    qa = _qa(request)
    thread_id = request.path_params["thread"]
    thread = None if len(thread_id) > 64 else await qa.store.thread_by_id(thread_id)
    if thread is None or thread.tenant != buyer.tenant:
        raise ApiError(404, "thread_not_found", "no such thread for this buyer's tenant")
    if buyer.products is not None and thread.product_id not in buyer.products:
        raise ApiError(403, "forbidden", "this buyer is not verified for this product")
    data = await body.read()
    if data.question is not None and not await qa.store.question_in_thread(data.question, thread.id):
        raise ApiError(422, "invalid_field", "question: no such question in this thread")
    now = time.monotonic()
    _limit(qa.buyer_limits.take(buyer.id, now), "from this buyer")
    _limit(qa.tenant_limits.take(buyer.tenant, now), "for this tenant")
    answer, rooms = await qa.answer(thread, buyer, data.text, data.question)
    return AnswerOut(
        answer=answer.id, thread=thread.id, product=thread.product_id, name=answer.name, text=answer.text,
        rooms=rooms, question=answer.question,
    )  # fmt: skip


async def hide_answer(request: Request) -> AnswerHidden:
    key = await _secret_key(request)
    answer_id = request.path_params["answer"]
    found = None if len(answer_id) > 64 else await _qa(request).hide(key.tenant.id, answer_id)
    if found is None:
        raise ApiError(404, "answer_not_found", "no such answer for this tenant")
    return AnswerHidden(answer=found.id, hidden=True)


_AUTH: dict[int, tuple[str, ...]] = {401: ("unauthorized",), 403: ("forbidden",)}
_BODY: dict[int, tuple[str, ...]] = {400: ("bad_json",), 413: ("too_large",), 422: ("invalid_field",)}
T = "qa"

endpoints: list[Endpoint] = [
    endpoint("POST", "/v1/tenant/buyers", create_buyer, "Issue a verified buyer's token (bt_..., shown once)",
             ok=BuyerOut, status=201, body=BuyerIn, auth=(SECRET_KEY,), errors={**_AUTH, **_BODY}, tag=T),
    endpoint("DELETE", "/v1/tenant/buyers/{buyer}", revoke_buyer, "Revoke a buyer's token", ok=BuyerRevoked,
             auth=(SECRET_KEY,), errors={**_AUTH, 404: ("buyer_not_found",)}, tag=T),
    endpoint("GET", "/v1/qa/{tenant}/products/{product}", read_thread, "A product's public Q&A thread",
             ok=ThreadOut, auth=(NONE,), errors={404: ("thread_not_found",)}, tag=T),
    endpoint("POST", "/v1/qa/threads/{thread}/answers", post_answer, "Answer on a thread (verified buyers only)",
             ok=AnswerOut, status=201, body=AnswerIn, auth=(BUYER_TOKEN,), max_body=MAX_ANSWER_BODY, tag=T,
             errors={**_AUTH, **_BODY, 404: ("thread_not_found",), 429: ("rate_limited",)}),
    endpoint("POST", "/v1/admin/qa/answers/{answer}/hide", hide_answer, "Hide an answer in the thread and every room",
             ok=AnswerHidden, auth=(SECRET_KEY,), errors={**_AUTH, 404: ("answer_not_found",)}, tag=T),
]  # fmt: skip
routes = [e.route() for e in endpoints]
