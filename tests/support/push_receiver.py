"""A real Web Push receiver for tests: what a browser's push service and the browser do
with one message, on 127.0.0.1.

Each subscription made with ``subscription(name)`` has its own P-256 key pair and 16-byte
auth secret (generated here, as a browser does) and the endpoint ``/push/<name>``. A
request must be an RFC 8030 POST with a ``TTL`` header, ``Content-Encoding: aes128gcm``,
and an RFC 8292 ``Authorization: vapid t=<JWT>,k=<key>`` whose ES256 signature verifies
with ``k``, whose ``aud`` is this origin and whose ``exp`` is in the future; the body is
decrypted (RFC 8291) with the subscription's private key and auth secret by ``http_ece``.
Anything else is answered 400 and counted in ``refused``. ``status[name]`` sets the answer
(201 by default; 410 says the subscription is gone)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.server import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushSubscriber:
    name: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    def to_json(self) -> dict[str, Any]:
        """As the browser's ``PushSubscription.toJSON()``."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass
class Pushed:
    name: str
    payload: dict[str, Any]
    ttl: int
    vapid_key: str  # the k= of the Authorization header
    claims: dict[str, Any]


@dataclass
class PushReceiver:
    port: int = field(default_factory=free_port)
    subscribers: dict[str, PushSubscriber] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    received: list[Pushed] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # the name of every request
    refused: list[str] = field(default_factory=list)  # why requests were refused
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def subscription(self, name: str) -> PushSubscriber:
        sub = PushSubscriber(
            name, f"{self.origin}/push/{name}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        )
        self.subscribers[name] = sub
        return sub

    def _verify_vapid(self, header: str) -> tuple[str, dict[str, Any]]:
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"not a vapid Authorization: {scheme!r}")
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        token, key = fields["t"], fields["k"]
        head_b64, claims_b64, sig_b64 = token.split(".")
        if json.loads(unb64url(head_b64)).get("alg") != "ES256":
            raise ValueError("JWT alg is not ES256")
        sig = unb64url(sig_b64)
        if len(sig) != 64:
            raise ValueError("ES256 signature is not 64 bytes")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # InvalidSignature
        claims: dict[str, Any] = json.loads(unb64url(claims_b64))
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.origin}")
        if not (time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600):
            raise ValueError("exp is not within the next 24 h")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError("sub is not a mailto: or https: URL")
        return key, claims

    async def _handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.requests.append(name)
        sub = self.subscribers.get(name)
        body = await request.body()
        try:
            if sub is None:
                raise ValueError(f"unknown subscription {name}")
            ttl = int(request.headers["ttl"])
            if request.headers.get("content-encoding") != "aes128gcm":
                raise ValueError("Content-Encoding is not aes128gcm")
            key, claims = self._verify_vapid(request.headers.get("authorization", ""))
            plain = http_ece.decrypt(body, private_key=sub.key, auth_secret=sub.auth, version="aes128gcm")
            payload = json.loads(plain)
        except (KeyError, ValueError, InvalidSignature) as exc:
            self.refused.append(f"{name}: {type(exc).__name__}: {exc}")
            return Response(status_code=400)
        status = self.status.get(name, 201)
        if status < 300:
            self.received.append(Pushed(name, payload, ttl, key, claims))
        return Response(status_code=status)

    async def start(self) -> PushReceiver:
        app = Starlette(routes=[Route("/push/{name}", self._handle, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._task.done() or time.monotonic() > deadline:
                raise RuntimeError("push receiver did not start")
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            try:
                async with asyncio.timeout(10):
                    await self._task
            except TimeoutError:
                self._task.cancel()

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Pushed]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.received)} of {count} pushes; refused: {self.refused}")
            await asyncio.sleep(0.05)
        return self.received
