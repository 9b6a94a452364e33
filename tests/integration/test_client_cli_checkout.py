"""``cosession-client join``: the ``checkout`` command and the catalog flags on cart lines,
as a real subprocess against a real server."""

from __future__ import annotations

from cosession_client import RoomClient
from protocol.messages import CartAdd, Product
from tests.integration.test_checkout import wait_until
from tests.integration.test_client_cli import cli, read_until, send
from tests.support.server import ServerProcess

DONE = ("ok:", "rejected:", "error:")


async def test_checkout_command(server: ServerProcess) -> None:
    created = await server.create_room(name="Weekend", owner_name="Olga")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        await owner.submit(CartAdd(product=Product(id="hat", name="Hat", price=900, currency="EUR")))
        proc = await cli("join", created["invite"]["url"], "--name", "Cleo")
        try:
            await read_until(proc, lambda line: line.startswith("commands:"))
            await send(proc, "checkout all")
            out = await read_until(proc, lambda line: line.startswith(DONE))
            assert out[-1].startswith("rejected: forbidden: only the room owner"), out
            await send(proc, "checkout")  # a member's default: the lines they added
            out = await read_until(proc, lambda line: line.startswith(DONE))
            assert out[-1].startswith("rejected: empty_checkout: nothing to check out"), out
            await send(proc, "checkout everything")
            out = await read_until(proc, lambda line: line.startswith(DONE))
            assert out[-1] == "error: usage: checkout [all|mine]"
            await send(proc, "add sock 'Wool socks' 1.99 EUR 2")
            await read_until(proc, lambda line: line.startswith(DONE))
            await send(proc, "checkout mine")
            out = await read_until(proc, lambda line: line.startswith(DONE))
            assert out[-1].startswith("ok: checkout co.") and "with 1 line(s)" in out[-1], out
            await wait_until(lambda: len(owner.state.checkouts) == 1)  # every member sees it
            assert owner.state.members[owner.state.checkouts[0].by].name == "Cleo"
            await send(proc, "quit")
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
