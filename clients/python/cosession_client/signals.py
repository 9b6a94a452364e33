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
    PollCreate,
    PollOption,
    PollOutcome,
    PollVote,
    Product,
    QaAsk,
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

    async def chat(
        self,
        text: str,
        product: Product | None = None,
        reply_to: int | None = None,
        mentions: list[str] | None = None,
    ) -> int:
        return await self.submit(Chat(text=text, product=product, reply_to=reply_to, mentions=mentions or []))

    async def react(self, msg: int, emoji: str, on: bool = True) -> int:
        return await self.submit(React(msg=msg, emoji=emoji, on=on))

    async def ask_past_buyers(self, product: Product, text: str) -> int:
        """Post a question about ``product`` to the tenant's public Q&A thread (SPEC 19):
        verified buyers' answers arrive later as ``qa.answer`` events (``state.qa``).
        Refused with ``qa_unavailable`` in a room without a tenant."""
        return await self.submit(QaAsk(product=product, text=text))

    async def rename(self, name: str) -> int:
        return await self.submit(RoomRename(name=name))

    async def lock(self, locked: bool = True) -> int:
        return await self.submit(RoomLock(locked=locked))

    async def kick(self, member: str) -> int:
        return await self.submit(MemberKick(member=member))

    async def create_poll(
        self,
        question: str,
        options: list[PollOption | int | Product],
        deadline: int,
        outcome: PollOutcome = "keep_winner",
    ) -> int:
        """A "which one?" poll (SPEC 17); ``options``: PollOptions, cart line ids or
        products; ``deadline`` in ms since the Unix epoch. Returns the poll's id (its seq)."""
        opts = [
            o if isinstance(o, PollOption) else PollOption(line=o) if isinstance(o, int) else PollOption(product=o)
            for o in options
        ]
        return await self.submit(PollCreate(question=question, options=opts, deadline=deadline, outcome=outcome))

    async def vote_poll(self, poll: int, option: int | None) -> int:
        """Vote for option ``option`` (0-based) of poll ``poll``; None clears the vote.
        A vote can change until the deadline (then ``OpRejected`` ``poll_closed``)."""
        return await self.submit(PollVote(poll=poll, option=option))

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
