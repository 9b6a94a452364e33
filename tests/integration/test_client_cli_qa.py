"""``cosession-client join``: the ``ask`` command (product Q&A) and answers shown in the
terminal, as a real subprocess against a real server."""

from __future__ import annotations

import httpx

from cosession_client import RoomClient
from tests.integration.test_checkout import tenant_room
from tests.integration.test_client_cli import cli, read_until, send
from tests.integration.test_product_qa import JACKET, answer, buyer, wait_thread
from tests.support.server import ServerProcess

DONE = ("ok:", "rejected:", "error:")


async def test_ask_command_and_the_answer_in_the_terminal(server: ServerProcess) -> None:
    tenant, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await ana.add_to_cart(JACKET)
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            invite = (
                await http.post(
                    f"/v1/rooms/{created['room']}/invites",
                    json={},
                    headers={"authorization": f"Bearer {created['token']}"},
                )
            ).json()
        proc = await cli("join", invite["url"], "--name", "Cleo")
        try:
            await read_until(proc, lambda line: line.startswith("commands:"))
            await send(proc, "ask 2 fits?")
            out = await read_until(proc, lambda line: line.startswith(DONE))
            assert out[-1].startswith("error: no cart line 2"), out
            await send(proc, "ask 1")
            out = await read_until(proc, lambda line: line.startswith(DONE))
            assert out[-1] == "error: usage: ask <line> <question>; `cart` lists the lines"
            await send(proc, "ask 1 Does the M run small?")
            out = await read_until(proc, lambda line: line.startswith(DONE))
            assert out[-1] == "ok: asked past buyers; their answers will appear here", out
            public = await wait_thread(server, tenant, JACKET.id, 1)
            dana = await buyer(server, tenant)
            assert (await answer(server, dana["token"], public["thread"], "Take an L.")).status_code == 201
            out = await read_until(proc, lambda line: "verified buyer" in line)
            assert out[-1].endswith("Dana (verified buyer) answered: Take an L."), out
            await send(proc, "quit")
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
