"""Keep aiortc's ICE on 127.0.0.1 (TESTING-NOTES: aioice leaves loopback out of its host
candidates): a context manager that makes ``get_host_addresses`` answer 127.0.0.1."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import aioice.ice


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    original = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = original
