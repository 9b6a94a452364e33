"""One Web Push call (RFC 8030 + RFC 8291 + RFC 8292): encrypt, sign, POST. No retries here.

pywebpush does the RFC 8291 ``aes128gcm`` encryption (``WebPusher.encode``, over
``http_ece``) and py_vapid the VAPID JWT; the POST goes through the server's own httpx
client so it is async and bounded by the same per-call timeout as webhooks (pywebpush's
own ``send`` is synchronous ``requests``). 201/202/200 is delivered; 404 and 410 mean the
subscription is gone (the caller removes it); anything else is retried.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from cosession.notify.vapid import VapidKey


@dataclass(frozen=True)
class PushResult:
    code: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    @property
    def gone(self) -> bool:
        return self.code in (404, 410)


def encrypt(body: bytes, p256dh: str, auth: str) -> bytes:
    from pywebpush import WebPusher  # the [push] extra

    encoded = WebPusher({"endpoint": "", "keys": {"p256dh": p256dh, "auth": auth}}).encode(body, "aes128gcm")
    data: bytes = encoded["body"]
    return data


async def send(
    client: httpx.AsyncClient,
    key: VapidKey,
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    body: bytes,
    subject: str,
    ttl: int,
    timeout: float,
) -> PushResult:
    try:
        data = encrypt(body, p256dh, auth)
        headers = {
            "TTL": str(ttl),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": "normal",
            "Authorization": key.authorization(endpoint, subject),
        }
        response = await client.post(endpoint, content=data, headers=headers, timeout=timeout)
        return PushResult(response.status_code)
    except httpx.HTTPError as exc:
        return PushResult(None, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # bad keys stored by a client: never retried into success
        return PushResult(400, f"{type(exc).__name__}: {exc}")
