"""Shopper actions shared by the built-in scenarios and declarative (TOML) scenarios.

Each is ``async def action(shopper, **args)``; an action that needs something the room
does not have yet (a cart line to vote on, a chat message to react to) falls back to a
sensible neighbour (add to the cart, chat) so every pick does something.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from loadtest.scenario import Shopper

Action = Callable[..., Awaitable[None]]
EMOJI: Final = ("👍", "❤️", "😂", "🔥", "👀")


async def focus(s: Shopper, **_: Any) -> None:
    await s.client.set_focus(s.product())


async def unfocus(s: Shopper, **_: Any) -> None:
    await s.client.set_focus(None)


async def cart_add(s: Shopper, qty: int | None = None, **_: Any) -> None:
    await s.client.add_to_cart(s.product(stamped=True), qty or s.rng.randint(1, 3))


async def cart_qty(s: Shopper, **_: Any) -> None:
    cart = s.client.state.cart
    if not cart:
        await cart_add(s)
        return
    await s.client.set_quantity(s.rng.choice(cart).line, s.rng.randint(1, 5))


async def cart_remove(s: Shopper, keep: int = 3, **_: Any) -> None:
    """Remove a random line, unless the cart has ``keep`` lines or fewer."""
    cart = s.client.state.cart
    if len(cart) <= keep:
        await cart_add(s)
        return
    await s.client.remove_line(s.rng.choice(cart).line)


async def vote(s: Shopper, **_: Any) -> None:
    cart = s.client.state.cart
    if not cart:
        await cart_add(s)
        return
    await s.client.vote(s.rng.choice(cart).line, s.rng.choice(("up", "up", "down", "clear")))


async def chat(s: Shopper, size: int | None = None, **_: Any) -> None:
    await s.client.chat(s.chat_text(size))


async def react(s: Shopper, **_: Any) -> None:
    messages = s.client.state.chat
    if not messages:
        await chat(s)
        return
    msg = s.rng.choice(messages[-20:])
    await s.client.react(msg.id, s.rng.choice(EMOJI), on=s.rng.random() < 0.8)


async def typing(s: Shopper, seconds: float = 0.5, **_: Any) -> None:
    await s.client.typing(True)
    await asyncio.sleep(min(seconds, s.time_left))
    await s.client.typing(False)


async def reconnect(s: Shopper, **_: Any) -> None:
    """Drop the socket without a close frame (like a phone losing its network) and wait
    for the client to resume."""
    s.client.drop_connection()
    await asyncio.sleep(0)
    await s.client.wait_connected(timeout=30)


async def ping(s: Shopper, **_: Any) -> None:
    await s.client.ping()


async def idle(s: Shopper, **_: Any) -> None:
    return None


ACTIONS: Final[dict[str, Action]] = {
    "focus": focus,
    "unfocus": unfocus,
    "cart.add": cart_add,
    "cart.qty": cart_qty,
    "cart.remove": cart_remove,
    "vote": vote,
    "chat": chat,
    "react": react,
    "typing": typing,
    "reconnect": reconnect,
    "ping": ping,
    "idle": idle,
}
