"""``RoomOps``: the typed ops and signals of ``RoomClient`` (a mixin over two methods).

Durable ops go through ``submit`` (they return the event's seq once applied); ephemeral
signals through ``_signal`` (best effort: dropped while disconnected, focus and follow
re-sent after a reconnect).
"""

from __future__ import annotations

from cosession_client.outputs import Signal
from protocol.messages import (
    CartAdd,
    CartQty,
    CartRemove,
    Chat,
    ClientOpBody,
    Focus,
    Follow,
    HelpRequest,
    HelpWhere,
    MemberKick,
    Product,
    React,
    RoomLock,
    RoomRename,
    Typing,
    Vote,
    VoteValue,
)


class RoomOps:
    async def submit(self, body: ClientOpBody, *, timeout: float | None = None) -> int:
        raise NotImplementedError

    def _signal(self, msg: Signal) -> None:
        raise NotImplementedError

    # ---- durable ops ------------------------------------------------------------------

    async def add_to_cart(self, product: Product, qty: int = 1) -> int:
        """Add a product (merges into an existing line of the same product/variant).
        The new line's id is the returned seq when no line was merged."""
        return await self.submit(CartAdd(product=product, qty=qty))

    async def set_quantity(self, line: int, qty: int) -> int:
        return await self.submit(CartQty(line=line, qty=qty))

    async def remove_line(self, line: int) -> int:
        return await self.submit(CartRemove(line=line))

    async def vote(self, line: int, value: VoteValue) -> int:
        return await self.submit(Vote(line=line, value=value))

    async def chat(self, text: str, product: Product | None = None, reply_to: int | None = None) -> int:
        return await self.submit(Chat(text=text, product=product, reply_to=reply_to))

    async def react(self, msg: int, emoji: str, on: bool = True) -> int:
        return await self.submit(React(msg=msg, emoji=emoji, on=on))

    async def rename(self, name: str) -> int:
        return await self.submit(RoomRename(name=name))

    async def lock(self, locked: bool = True) -> int:
        return await self.submit(RoomLock(locked=locked))

    async def kick(self, member: str) -> int:
        return await self.submit(MemberKick(member=member))

    async def ask_for_help(
        self, where: HelpWhere = "online", department: str | None = None, note: str | None = None
    ) -> int:
        """Ask the tenant's store associates for help (SPEC 21); returns the request id
        (its seq). ``OpRejected`` ``help_pending`` while the room's last request is open."""
        return await self.submit(HelpRequest(where=where, department=department, note=note))

    # ---- ephemeral signals ------------------------------------------------------------

    async def set_focus(self, product: Product | None) -> None:
        """Share what you are looking at (None clears). Re-sent after a reconnect."""
        self._signal(Focus(product=product))

    async def typing(self, on: bool) -> None:
        self._signal(Typing(on=on))

    async def follow(self, member: str | None) -> None:
        """Follow another member's focus (None stops). Re-sent after a reconnect."""
        self._signal(Follow(member=member))
