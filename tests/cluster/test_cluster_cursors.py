"""Read cursors and away across the nodes of a cluster (SPEC 15): a member's two devices
on two nodes agree on its cursor, presence shows it away only when both are in the
background, and a welcome on either node counts exactly what it missed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from protocol.messages import Away, CartAdd, Chat, Event, PresenceUpdate, Product, Read, ReadSignal, Unread, Vote
from tests.support.cluster import Cluster
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer

WAIT = 15.0


async def away_of(client: RawClient, member: str, away: bool) -> PresenceUpdate:
    async with asyncio.timeout(WAIT):
        while True:
            msg = await client.recv(WAIT)
            if isinstance(msg, PresenceUpdate) and msg.member.member == member and msg.member.away is away:
                return msg


async def test_cursors_and_away_agree_across_two_nodes(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2)
    await cluster.start()
    try:
        node0, node1 = cluster.nodes
        room = await node0.create_room()
        ben = await node1.accept(room["invite"]["code"], "Ben")
        owner, _ = await RawClient.join(node0.ws_url, room["token"])
        phone, pw = await RawClient.join(node0.ws_url, ben["token"])
        laptop, _ = await RawClient.join(node1.ws_url, ben["token"])
        # read cursors: the phone (node 0) reads, the laptop (node 1) hears it, and back
        for i in range(4):
            await owner.op(Chat(text=f"look {i}"))
        head = (await laptop.events_until(pw.seq + 4, timeout=WAIT))[-1].seq
        await phone.events_until(head, timeout=WAIT)
        await phone.send(Read(seq=head - 1))
        assert (await laptop.expect(ReadSignal, timeout=WAIT)).seq == head - 1
        await laptop.send(Read(seq=head))
        assert (await phone.expect(ReadSignal, timeout=WAIT)).seq == head
        # away: only when the member's connections on both nodes are in the background
        await phone.send(Away(on=True))
        await laptop.send(Away(on=True))
        await away_of(owner, ben["member"], True)
        await laptop.send(Away(on=False))
        await away_of(owner, ben["member"], False)
        await laptop.send(Away(on=True))
        await away_of(owner, ben["member"], True)
        # 40 events while Ben is away; he comes back on either node to the same counts
        line = 0
        for i in range(40):
            if i % 2:
                await owner.op(Chat(text=f"and this? {i}"))
            elif line:
                await owner.op(Vote(line=line, value="up" if i % 4 else "down"))
            else:
                await owner.op(CartAdd(product=Product(id="bag", name="Bag", price=2500, currency="EUR")))
                line = (await owner.expect(Event, timeout=WAIT, by=room["member"])).seq
        await owner.events_until(head + 40, timeout=WAIT)
        await phone.close()
        await laptop.close()
        for node in (node0, node1):
            again, welcome = await RawClient.join(node.ws_url, ben["token"])
            assert welcome.read == head
            assert welcome.unread == Unread(messages=20, cart=1)
            await again.close()
        await owner.close()
    finally:
        cluster.kill()
