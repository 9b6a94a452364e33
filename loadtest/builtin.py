"""The built-in scenarios: ``shopping``, ``fanout``, ``storm``, ``soak``, ``idle``, ``call``
and ``help-queue``.

Each is a factory ``f(params) -> Scenario`` (``--param KEY=VALUE`` on the command line);
the workers call it again with the same params, so classes made inside match by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from loadtest import actions
from loadtest.scenario import Scenario, Shopper, task


class ShoppingMember(Shopper):
    """A realistic mix: looking at products, cart edits, votes, chat, reactions, typing,
    and now and then a lost network (socket dropped, resumed)."""

    think_time = None  # paced by --op-rate (actions per member per second)

    @task(6)
    async def look(self) -> None:
        await actions.focus(self)

    @task(3)
    async def add(self) -> None:
        await actions.cart_add(self)

    @task(2)
    async def change_qty(self) -> None:
        await actions.cart_qty(self)

    @task(1)
    async def remove(self) -> None:
        await actions.cart_remove(self)

    @task(2)
    async def vote(self) -> None:
        await actions.vote(self)

    @task(3)
    async def chat(self) -> None:
        await actions.chat(self)

    @task(1)
    async def react(self) -> None:
        await actions.react(self)

    @task(1)
    async def type(self) -> None:
        await actions.typing(self)

    @task(0.2)
    async def lose_network(self) -> None:
        await actions.reconnect(self)


def shopping(params: dict[str, str]) -> Scenario:
    return Scenario(
        name="shopping",
        description="rooms of friends shopping together: focus, cart add/qty/remove, votes, chat, reconnects",
        shoppers=[ShoppingMember],
        rooms=4,
        members=6,
        duration=60.0,
        ramp=10.0,
        op_rate=0.5,
        payload_bytes=100,
    )


def soak(params: dict[str, str]) -> Scenario:
    return Scenario(
        name="soak",
        description="the shopping mix at a low steady rate for a long time (leaks, drift, slow degradation)",
        shoppers=[ShoppingMember],
        rooms=10,
        members=5,
        duration=600.0,
        ramp=30.0,
        op_rate=0.1,
        payload_bytes=100,
    )


async def _wait_for_everyone(s: Shopper, timeout: float) -> None:
    """Until every member of the room is online (presence), bounded."""
    if len(s.client.presence) >= s.room.size:
        return
    updates = s.client.events()
    try:
        async with asyncio.timeout(min(timeout, s.time_left)):
            async for _ in updates:
                if len(s.client.presence) >= s.room.size:
                    return
    except TimeoutError:
        pass
    finally:
        updates.close()


def fanout(params: dict[str, str]) -> Scenario:
    senders = int(params.get("senders", "1"))
    wait = float(params.get("wait", "30"))

    class Sender(Shopper):
        """Waits until the whole room is online, then sends chats at ``--op-rate`` per
        second (open loop, at most ``window`` un-acked; 0: as fast as the window allows)."""

        fixed = senders
        weight = 0
        think_time = (0.0, 0.0)
        window = int(params.get("window", "64"))

        async def on_start(self) -> None:
            await _wait_for_everyone(self, wait)
            self._next = asyncio.get_running_loop().time()

        @task
        async def send(self) -> None:
            rate = self.run.op_rate
            if rate > 0:
                loop = asyncio.get_running_loop()
                now = loop.time()
                if self._next > now:
                    await asyncio.sleep(min(self._next - now, self.time_left))
                    if self.time_left <= 0:
                        return
                self._next = max(self._next + 1.0 / rate, loop.time() - 1.0)
            await self.fire(self.client.chat(self.chat_text()))

        async def on_stop(self) -> None:
            await self.drain(10.0)

    class Receiver(Shopper):
        """Stays connected and receives (every event is still checked and timed)."""

        weight = 1

    return Scenario(
        name="fanout",
        description=f"one large room: {senders} sender(s) chat at --op-rate, everyone receives",
        shoppers=[Sender, Receiver],
        rooms=1,
        members=100,
        duration=20.0,
        ramp=5.0,
        op_rate=20.0,
        payload_bytes=80,
        fanout_check="chat",
    )


def storm(params: dict[str, str]) -> Scenario:
    class Chatter(Shopper):
        """Chats now and then, so resuming members have events to catch up on."""

        think_time = None

        @task
        async def chat(self) -> None:
            await actions.chat(self)

    return Scenario(
        name="storm",
        description="everyone connected, then every connection dropped at once and resuming together",
        shoppers=[Chatter],
        rooms=10,
        members=20,
        duration=30.0,
        ramp=5.0,
        op_rate=0.05,
        payload_bytes=60,
        storms=[params.get("at", "60%")],
    )


def idle(params: dict[str, str]) -> Scenario:
    class Idler(Shopper):
        """Joins and stays connected without sending anything."""

        weight = 1

    return Scenario(
        name="idle",
        description="members join and stay connected, sending nothing (with --spawn: server RSS per client)",
        shoppers=[Idler],
        rooms=20,
        members=100,
        duration=30.0,
        ramp=10.0,
        op_rate=0.0,
        payload_bytes=80,
    )


def call(params: dict[str, str]) -> Scenario:
    from loadtest.call_scenario import call as call_scenario  # aiortc only when used

    return call_scenario(params)


def help_queue(params: dict[str, str]) -> Scenario:
    from loadtest.help_scenario import help_queue as help_queue_scenario

    return help_queue_scenario(params)


BUILTINS: Final[dict[str, Callable[[dict[str, str]], Scenario]]] = {
    "shopping": shopping,
    "fanout": fanout,
    "storm": storm,
    "soak": soak,
    "idle": idle,
    "call": call,
    "help-queue": help_queue,
}
