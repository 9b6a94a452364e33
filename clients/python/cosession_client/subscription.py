"""``Subscription``: a bounded async iterator over the messages a client delivers."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final, TypeAlias

from cosession_client.errors import EventsOverflow
from cosession_client.outputs import Disconnected, Resynced
from protocol.messages import Ack, Error, Event, FocusSignal, FollowSignal, Pong, PresenceUpdate, TypingSignal

Incoming: TypeAlias = (
    Event | Ack | Error | PresenceUpdate | FocusSignal | TypingSignal | FollowSignal | Pong | Resynced | Disconnected
)
ROOM_MESSAGES: Final = (Event, PresenceUpdate, FocusSignal, TypingSignal, FollowSignal, Resynced, Disconnected)


class Subscription:
    """Async iterator over incoming messages, bounded: falling ``limit`` items behind ends
    it with ``EventsOverflow``. Ends quietly after ``close()`` of the client, or raises
    ``ConnectionClosedFinal`` (after the buffered items) when the client stopped for good.
    """

    def __init__(
        self,
        unsubscribe: Callable[[Subscription], None],
        kinds: tuple[type, ...] | None,
        limit: int,
        start_seq: int,
    ) -> None:
        self._unsubscribe = unsubscribe
        self._kinds = kinds
        self._limit = limit
        self._items: deque[Incoming] = deque()
        self._wake = asyncio.Event()
        self._ended = False
        self._error: BaseException | None = None
        self.start_seq = start_seq  # the client's seq when subscribed

    def push(self, item: Incoming) -> None:
        """Called by the client for every delivered message."""
        if self._ended or (self._kinds is not None and not isinstance(item, self._kinds)):
            return
        if len(self._items) >= self._limit:
            self.end(EventsOverflow(f"subscription fell {self._limit} messages behind"))
            return
        self._items.append(item)
        self._wake.set()

    def end(self, error: BaseException | None) -> None:
        """Called by the client when it stops: iteration ends after the buffered items."""
        if not self._ended:
            self._ended = True
            self._error = error
            self._wake.set()

    def close(self) -> None:
        """Stop receiving; buffered items are dropped."""
        self._items.clear()
        self.end(None)
        self._unsubscribe(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Incoming:
        while True:
            if self._items:
                return self._items.popleft()
            if self._ended:
                self._unsubscribe(self)
                error, self._error = self._error, None
                if error is not None:
                    raise error
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
