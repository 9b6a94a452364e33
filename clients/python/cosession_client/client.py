"""``RoomClient``: one member's live connection to a room.

It owns a WebSocket (held by a single reader task), the room state folded from the
event log with ``protocol.reducer.apply`` (the only source of truth: own ops are never
applied early), the un-acked ops, and the subscriptions that hand incoming messages to
the application. On a dropped connection or a retryable close code it reconnects with
backoff, resumes from ``(epoch, seq)`` and re-sends every un-acked op under its original
``ref``; the server's idempotency makes that safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, TypeAlias

import msgspec
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from cosession_client.errors import ConnectionClosedFinal, EventsOverflow, OpRejected, TooManyPending
from cosession_client.rest import (
    CreatedInvite,
    Snapshot,
    accept_invite,
    base_urls,
    create_invite,
    get_snapshot,
    is_invite_link,
    parse_invite_link,
    resolve_ws_url,
)
from cosession_client.tolerant import decode_server
from protocol.codec import Codec, Format, contains_nul
from protocol.errors import RETRYABLE_CLOSE_CODES, ErrorCode, ProtocolError
from protocol.messages import (
    Ack,
    CartAdd,
    CartQty,
    CartRemove,
    Chat,
    ClientOpBody,
    Device,
    Error,
    Event,
    Focus,
    FocusSignal,
    Follow,
    FollowSignal,
    Hello,
    IceServer,
    Limits,
    MemberKick,
    Op,
    Ping,
    Pong,
    PresenceMember,
    PresenceUpdate,
    Product,
    React,
    Resume,
    Role,
    RoomLock,
    RoomRename,
    RoomState,
    Typing,
    TypingSignal,
    Vote,
    VoteValue,
    Welcome,
)
from protocol.reducer import apply as apply_event

VERSION: Final = "0.1.0"
log = logging.getLogger("cosession_client")

# Error codes that mean "this token / member will never get in": stop reconnecting.
FINAL_ERRORS: Final = frozenset(
    {
        ErrorCode.UNAUTHORIZED,
        ErrorCode.TOKEN_EXPIRED,
        ErrorCode.FORBIDDEN,
        ErrorCode.KICKED,
        ErrorCode.ROOM_NOT_FOUND,
        ErrorCode.ROOM_FULL,
        ErrorCode.TOO_MANY_MEMBERS,
        ErrorCode.TOO_MANY_CONNECTIONS,
    }
)
_RETRYABLE_CODES: Final = RETRYABLE_CLOSE_CODES | {1006}  # 1006: no close frame (network loss)
_CLOSE_WAIT = 2.0  # how long to wait for the close frame that follows an error frame


@dataclass(frozen=True)
class Resynced:
    """Synthetic message: a (re)join completed.

    ``recovered=True``: the missed events were replayed (and yielded before this item),
    the stream is contiguous. ``recovered=False``: ``client.state`` was replaced by a
    snapshot at ``seq``; events before it were not yielded.
    """

    recovered: bool
    epoch: str
    seq: int


@dataclass(frozen=True)
class Disconnected:
    """Synthetic message: the connection was lost. ``retrying``: the client reconnects on
    its own (a ``Resynced`` follows); else it stopped for good."""

    code: int
    reason: str
    retrying: bool


Incoming: TypeAlias = (
    Event | Ack | Error | PresenceUpdate | FocusSignal | TypingSignal | FollowSignal | Pong | Resynced | Disconnected
)
ROOM_MESSAGES: Final = (Event, PresenceUpdate, FocusSignal, TypingSignal, FollowSignal, Resynced, Disconnected)


class Subscription:
    """Async iterator over incoming messages, bounded: falling ``limit`` items behind ends
    it with ``EventsOverflow``. Ends quietly after ``close()`` of the client, or raises
    ``ConnectionClosedFinal`` (after the buffered items) when the client stopped for good.
    """

    def __init__(self, client: RoomClient, kinds: tuple[type, ...] | None, limit: int, start_seq: int) -> None:
        self._client = client
        self._kinds = kinds
        self._limit = limit
        self._items: deque[Incoming] = deque()
        self._wake = asyncio.Event()
        self._ended = False
        self._error: BaseException | None = None
        self.start_seq = start_seq  # the client's seq when subscribed

    def _push(self, item: Incoming) -> None:
        if self._ended or (self._kinds is not None and not isinstance(item, self._kinds)):
            return
        if len(self._items) >= self._limit:
            self._end(EventsOverflow(f"subscription fell {self._limit} messages behind"))
            return
        self._items.append(item)
        self._wake.set()

    def _end(self, error: BaseException | None) -> None:
        if not self._ended:
            self._ended = True
            self._error = error
            self._wake.set()

    def close(self) -> None:
        """Stop receiving; buffered items are dropped."""
        self._items.clear()
        self._end(None)
        self._client._unsubscribe(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Incoming:
        while True:
            if self._items:
                return self._items.popleft()
            if self._ended:
                self._client._unsubscribe(self)
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


class _Pacer:
    """Client-side mirror of the server's per-connection token bucket (every frame after
    ``hello`` costs a token), with a safety margin, so a busy client slows itself down
    instead of having frames refused. FIFO: ops keep their order while waiting."""

    def __init__(self, limits: Limits | None) -> None:
        rate = limits.ops_per_second if limits is not None else 0.0
        self.rate = rate * 0.9
        self.burst = float(max(1, limits.ops_burst - 2)) if limits is not None else 1.0
        self.tokens = self.burst
        self.updated = asyncio.get_running_loop().time()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        if self.rate <= 0:
            return
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                now = loop.time()
                self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self.tokens) / self.rate)


@dataclass(eq=False)
class _PendingOp:
    ref: str
    body: ClientOpBody
    future: asyncio.Future[int]
    sent_gen: int = -1  # connection generation it was last sent on (-1: never sent)
    acked_seq: int | None = None
    retries: int = 0  # `unavailable` answers so far


class _Disconnect(Exception):
    """Internal: why a connection ended or could not be opened."""

    def __init__(self, code: int, reason: str, *, retryable: bool, error: str | None = None, message: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.retryable = retryable
        self.error = error
        self.message = message

    def final(self) -> ConnectionClosedFinal:
        return ConnectionClosedFinal(self.code, self.reason, self.error, self.message)


class _Violation(Exception):
    """Internal: the server broke the protocol (gap, bad welcome); reconnect and resume."""


def _classify(code: int, reason: str, error: Error | None) -> _Disconnect:
    retryable = code in _RETRYABLE_CODES and (error is None or error.code not in FINAL_ERRORS)
    if error is not None and not reason:
        reason = error.message
    if error is None:
        return _Disconnect(code, reason, retryable=retryable)
    return _Disconnect(code, reason, retryable=retryable, error=error.code, message=error.message)


_op_encoder = msgspec.msgpack.Encoder()
_op_decoder = msgspec.msgpack.Decoder(ClientOpBody)


def validate_op(body: ClientOpBody) -> None:
    """Raise ``msgspec.ValidationError`` (a ValueError) if ``body`` breaks the schema's
    constraints: the server could only answer it with a ref-less error (U+0000 in any
    string included, SPEC section 1)."""
    _op_decoder.decode(_op_encoder.encode(body))
    if contains_nul(body):
        raise msgspec.ValidationError("strings must not contain U+0000")


def _retrieve(fut: asyncio.Future[Any]) -> None:
    """Done-callback: mark a future's exception as seen (its caller may have timed out)."""
    if not fut.cancelled():
        fut.exception()


class _Connect:
    """What ``RoomClient.connect`` returns: await it, or use it with ``async with``."""

    def __init__(self, factory: Callable[[], Coroutine[Any, Any, RoomClient]]) -> None:
        self._factory = factory
        self._client: RoomClient | None = None

    def __await__(self) -> Generator[Any, None, RoomClient]:
        return self._factory().__await__()

    async def __aenter__(self) -> RoomClient:
        self._client = await self._factory()
        return self._client

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close()


class RoomClient:
    """A live member of one room. Create with ``await RoomClient.connect(...)``."""

    def __init__(
        self,
        *,
        token: str,
        ws_url: str,
        http_url: str,
        format: Format = "msgpack",
        device: Device = "bot",
        reconnect: bool = True,
        max_attempts: int | None = None,
        max_pending: int = 1000,
        connect_timeout: float = 10.0,
        welcome_timeout: float = 10.0,
        op_timeout: float | None = 30.0,
        backoff: tuple[float, float] = (0.1, 5.0),
        max_frame_bytes: int = 32 * 2**20,
        subscription_limit: int = 10_000,
    ) -> None:
        self.token = token
        self.ws_url = ws_url
        self.http_url = http_url
        self._codec = Codec(format)
        self._device: Device = device
        self._reconnect = reconnect
        self._max_attempts = max_attempts
        self._max_pending = max_pending
        self._connect_timeout = connect_timeout
        self._welcome_timeout = welcome_timeout
        self._op_timeout = op_timeout
        self._backoff = backoff
        self._max_frame_bytes = max_frame_bytes
        self._subscription_limit = subscription_limit

        self._state = RoomState()
        self._epoch: str | None = None
        self._room = ""
        self._member = ""
        self._role: Role = "viewer"
        self._limits: Limits | None = None
        self._ice: list[IceServer] = []
        self._presence: dict[str, PresenceMember] = {}
        self._focus: dict[str, Product | None] = {}
        self._typing: set[str] = set()
        self._my_focus: Product | None = None
        self._my_follow: str | None = None

        self._ws: ClientConnection | None = None
        self._pacer: _Pacer | None = None
        self._resending: asyncio.Task[None] | None = None
        self._helpers: set[asyncio.Task[None]] = set()  # op retries after `unavailable`
        self._joined = False
        self._gen = 0  # connection generation, bumped on every welcome
        self._last_error: Error | None = None  # last ref-less error frame on this connection
        self._ref_prefix = secrets.token_hex(3)
        self._refs = itertools.count(1)
        self._nonces = itertools.count(1)
        self._pending: dict[str, _PendingOp] = {}  # insertion order = submission order
        self._awaiting_apply: list[_PendingOp] = []  # acked, event not folded yet
        self._seq_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._join_waiters: list[asyncio.Future[None]] = []
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._subs: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._final: ConnectionClosedFinal | None = None
        self._closed = asyncio.Event()
        self.reconnects = 0  # completed re-joins after the first one
        self.violations = 0  # protocol violations seen (gaps, bad welcomes)

    # ---- construction -----------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        url_or_token: str,
        *,
        server: str | None = None,
        name: str | None = None,
        format: Format = "msgpack",
        device: Device = "bot",
        reconnect: bool = True,
        max_attempts: int | None = None,
        max_pending: int = 1000,
        connect_timeout: float = 10.0,
        welcome_timeout: float = 10.0,
        op_timeout: float | None = 30.0,
        backoff: tuple[float, float] = (0.1, 5.0),
    ) -> _Connect:
        """Join a room; returns once welcomed. Await it or use it as ``async with``.

        ``url_or_token`` is an invite link (``http://host/r/CODE``: accepted over REST
        as ``name``, which is then required) or a join token (``server`` is then the
        server's http(s) base URL or its ``ws(s)://.../v1/ws`` endpoint). Raises
        ``ApiError`` (invite refused), ``ConnectionClosedFinal`` (token refused) or
        ``TimeoutError`` (no welcome within ``connect_timeout``, retries included).
        """

        async def open_client() -> RoomClient:
            if is_invite_link(url_or_token):
                if not name:
                    raise ValueError("joining by invite link needs name=")
                http_url, code = parse_invite_link(url_or_token)
                joined = await accept_invite(http_url, code, name, request_timeout=connect_timeout)
                token, ws_url = joined.token, resolve_ws_url(http_url, joined.ws_url)
            else:
                if server is None:
                    raise ValueError("joining by token needs server= (the server's base URL)")
                http_url, ws_url = base_urls(server)
                token = url_or_token
            client = cls(
                token=token,
                ws_url=ws_url,
                http_url=http_url,
                format=format,
                device=device,
                reconnect=reconnect,
                max_attempts=max_attempts,
                max_pending=max_pending,
                connect_timeout=connect_timeout,
                welcome_timeout=welcome_timeout,
                op_timeout=op_timeout,
                backoff=backoff,
            )
            await client.start()
            return client

        return _Connect(open_client)

    async def start(self) -> None:
        """Start the reader task and wait for the first welcome (bounded by connect_timeout)."""
        if self._task is not None:
            raise RuntimeError("client already started")
        self._task = asyncio.create_task(self._run(), name=f"cosession-client-{self._ref_prefix}")
        try:
            await self.wait_connected(timeout=self._connect_timeout)
        except BaseException:
            await self.close()
            raise

    async def __aenter__(self) -> RoomClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ---- read-only view ---------------------------------------------------------------

    @property
    def state(self) -> RoomState:
        """The room state folded from acknowledged events. Replaced (not mutated) by a
        snapshot on a non-recovered rejoin: read ``client.state`` afresh, don't keep it."""
        return self._state

    @property
    def seq(self) -> int:
        return self._state.seq

    @property
    def epoch(self) -> str | None:
        return self._epoch

    @property
    def room(self) -> str:
        return self._room

    @property
    def member(self) -> str:
        return self._member

    @property
    def role(self) -> Role:
        return self._role

    @property
    def limits(self) -> Limits | None:
        return self._limits

    @property
    def ice_servers(self) -> list[IceServer]:
        return self._ice

    @property
    def presence(self) -> dict[str, PresenceMember]:
        """Who is here right now, by member id."""
        return self._presence

    @property
    def focus(self) -> dict[str, Product | None]:
        """What each present member is looking at (None: nothing)."""
        return self._focus

    @property
    def typing_members(self) -> set[str]:
        return self._typing

    @property
    def connected(self) -> bool:
        return self._joined

    @property
    def closed(self) -> bool:
        return self._final is not None

    @property
    def pending(self) -> int:
        """Ops submitted and not yet acknowledged (what ``max_pending`` bounds)."""
        return len(self._pending)

    # ---- durable ops ------------------------------------------------------------------

    async def submit(self, body: ClientOpBody, *, timeout: float | None = None) -> int:
        """Send an op; return its ``seq`` once acked AND folded into ``state``.

        Raises ``OpRejected`` (the server refused it), ``ValueError`` (the op breaks the
        schema, e.g. qty 0; nothing was sent), ``TooManyPending``,
        ``ConnectionClosedFinal``, or ``TimeoutError`` (after ``timeout``, default the
        client's ``op_timeout``). After a timeout an op that was already sent stays
        pending and is re-sent on reconnect, so it may still be applied (exactly once).
        An ``unavailable`` answer is not final: the op is re-sent, same ref, after a backoff.
        """
        self._check_usable()
        validate_op(body)
        if len(self._pending) >= self._max_pending:
            raise TooManyPending(f"{len(self._pending)} ops are waiting for their ack")
        ref = f"{self._ref_prefix}-{next(self._refs)}"
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        op = _PendingOp(ref, body, future)
        self._pending[ref] = op
        try:
            async with asyncio.timeout(self._op_timeout if timeout is None else timeout):
                ws = self._ws
                if self._joined and ws is not None:
                    await self._pace(ws)
                    # still the same live connection, and not already sent by a flush?
                    if self._joined and self._ws is ws and op.sent_gen != self._gen:
                        op.sent_gen = self._gen  # from here on the frame may be out
                        with contextlib.suppress(ConnectionClosed):  # the reader reconnects, re-sends
                            await self._write(ws, Op(ref=ref, op=body))
                return await asyncio.shield(future)
        except (TimeoutError, asyncio.CancelledError):
            if op.sent_gen < 0 and self._pending.get(ref) is op:
                del self._pending[ref]  # never left this process: it will never apply
            raise

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

    # ---- ephemeral signals (best effort: dropped while disconnected) -------------------

    async def set_focus(self, product: Product | None) -> None:
        """Share what you are looking at (None clears). Re-sent after a reconnect."""
        self._my_focus = product
        await self._send_if_joined(Focus(product=product))

    async def typing(self, on: bool) -> None:
        await self._send_if_joined(Typing(on=on))

    async def follow(self, member: str | None) -> None:
        """Follow another member's focus (None stops). Re-sent after a reconnect."""
        self._my_follow = member
        await self._send_if_joined(Follow(member=member))

    async def ping(self, timeout: float = 10.0) -> float:
        """Round-trip time in seconds of an application-level ping (waits for a connection)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            await self.wait_connected()
            ws = self._ws
            assert ws is not None
            nonce = next(self._nonces)
            pong: asyncio.Future[None] = loop.create_future()
            pong.add_done_callback(_retrieve)
            self._pings[nonce] = pong
            started = loop.time()
            try:
                await self._send(ws, Ping(nonce=nonce))
                await pong
            except ConnectionClosed:
                raise ConnectionError("connection lost before pong") from None
            finally:
                self._pings.pop(nonce, None)
            return loop.time() - started

    # ---- REST conveniences ------------------------------------------------------------

    async def create_invite(
        self, role: Role = "member", *, expires_in: int | None = None, max_uses: int | None = None
    ) -> CreatedInvite:
        return await create_invite(
            self.http_url, self.token, self._room, role=role, expires_in=expires_in, max_uses=max_uses
        )

    async def fetch_snapshot(self) -> Snapshot:
        """The server's current snapshot over REST (does not touch ``state``)."""
        return await get_snapshot(self.http_url, self.token, self._room)

    # ---- consuming messages -----------------------------------------------------------

    def messages(self, *, limit: int | None = None) -> Subscription:
        """Every incoming message (``welcome`` excepted: it becomes ``Resynced``, preceded by
        the events it replayed), in order, after it updated the local state, plus
        ``Disconnected`` when the socket is lost. Subscribes immediately (not on first
        ``anext``): nothing that arrives after this call is missed."""
        return self._subscribe(None, limit)

    def events(self, *, limit: int | None = None) -> Subscription:
        """Room happenings only: ``Event``, presence, focus, typing, follow, and the
        synthetic ``Resynced`` / ``Disconnected`` (no ``Ack``, ``Error``, ``Pong``)."""
        return self._subscribe(ROOM_MESSAGES, limit)

    def _subscribe(self, kinds: tuple[type, ...] | None, limit: int | None) -> Subscription:
        sub = Subscription(self, kinds, limit or self._subscription_limit, self._state.seq)
        if self._final is not None:
            sub._end(None if self._closing else self._final)
        else:
            self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)

    async def wait_for_seq(self, seq: int, timeout: float | None = 10.0) -> None:
        """Wait until ``state`` has folded event ``seq`` (TimeoutError after ``timeout``)."""
        self._check_usable()
        if self._state.seq >= seq:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(_retrieve)
        entry = (seq, waiter)
        self._seq_waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._seq_waiters.remove(entry)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until joined (welcomed and un-acked ops re-sent)."""
        self._check_usable()
        if self._joined:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(_retrieve)
        self._join_waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._join_waiters.remove(waiter)

    async def wait_closed(self) -> ConnectionClosedFinal | None:
        """Wait until the client stopped for good; return why (None if never started)."""
        await self._closed.wait()
        return self._final

    async def close(self) -> None:
        """Leave: close the socket (code 1000), stop reconnecting, fail pending ops."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_WAIT):
                    await ws.close(1000, "bye")
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._finish(ConnectionClosedFinal(1000, "closed by the client"))

    def _drop_connection(self) -> None:
        """Test hook: abort the socket without a close frame (like a network loss)."""
        ws = self._ws
        if ws is not None:
            ws.transport.abort()

    # ---- the reader task --------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0  # consecutive attempts that did not reach a welcome
        flaps = 0  # consecutive connections lost soon after their welcome
        loop = asyncio.get_running_loop()
        try:
            while not self._closing:
                try:
                    ws, welcome = await self._open()
                except _Disconnect as why:
                    failures += 1
                    if not (why.retryable and self._reconnect):
                        self._finish(why.final())
                        return
                    if self._max_attempts is not None and failures >= self._max_attempts:
                        self._finish(ConnectionClosedFinal(why.code, f"gave up after {failures} attempts: {why}"))
                        return
                    log.info("connect failed (%s), retry %d", why, failures)
                    await self._sleep_backoff(failures)
                    continue
                failures = 0
                joined_at = loop.time()
                lost = await self._serve(ws, welcome)
                if self._closing_now():  # (a method: mypy would keep the loop's narrowing)
                    break
                self._emit(Disconnected(lost.code, lost.reason, lost.retryable and self._reconnect))
                if not (lost.retryable and self._reconnect):
                    self._finish(lost.final())
                    return
                log.info("connection lost (%d %s), reconnecting", lost.code, lost.reason)
                # a connection that keeps dying right after its welcome backs off too
                flaps = 0 if loop.time() - joined_at >= self._backoff[1] else flaps + 1
                await self._sleep_backoff(flaps)
        except Exception as exc:  # a bug here must not leave callers hanging
            log.exception("cosession client reader failed")
            self._finish(ConnectionClosedFinal(1011, f"client error: {exc!r}"))

    async def _sleep_backoff(self, failures: int) -> None:
        base, cap = self._backoff
        delay = min(cap, base * 2**failures)
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _open(self) -> tuple[ClientConnection, Welcome]:
        """Open a socket, say hello, and return it with the server's welcome."""
        try:
            ws = await ws_connect(
                self.ws_url,
                subprotocols=[Subprotocol(self._codec.subprotocol)],
                open_timeout=self._connect_timeout,
                close_timeout=_CLOSE_WAIT,
                max_size=self._max_frame_bytes,
                user_agent_header=f"cosession-python/{VERSION}",
            )
        except InvalidURI as exc:
            raise _Disconnect(1006, str(exc), retryable=False) from None
        except InvalidStatus as exc:
            # 403: a draining server refuses the handshake (close before accept); the
            # origin check that also answers 403 does not apply to a client with no Origin.
            status = exc.response.status_code
            retry = status >= 500 or status in (403, 429)
            raise _Disconnect(1006, f"handshake refused: HTTP {status}", retryable=retry) from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _Disconnect(1006, f"cannot connect: {exc!r}", retryable=True) from None
        try:
            return await self._hello(ws)
        except BaseException:  # including cancellation by close(): never leak the socket
            ws.transport.abort()
            raise

    async def _hello(self, ws: ClientConnection) -> tuple[ClientConnection, Welcome]:
        if ws.subprotocol != self._codec.subprotocol:
            raise _Disconnect(1006, f"server did not accept {self._codec.subprotocol}", retryable=False)
        self._last_error = None
        resume = None if self._epoch is None else Resume(epoch=self._epoch, seq=self._state.seq)
        hello = Hello(token=self.token, resume=resume, client="python", version=VERSION, device=self._device)
        try:
            await self._send(ws, hello, paced=False)
            async with asyncio.timeout(self._welcome_timeout):
                first = self._decode(await ws.recv())
                if isinstance(first, Error):
                    self._last_error = first
                    await ws.recv()  # the close frame that follows ends this with ConnectionClosed
        except ConnectionClosed as exc:
            raise self._closed_by(exc) from None
        except TimeoutError:
            raise _Disconnect(1006, "no welcome in time", retryable=True) from None
        if isinstance(first, Error):  # an error frame, then no close frame
            raise _classify(1006, "", first)
        if not isinstance(first, Welcome):
            self.violations += 1
            raise _Disconnect(1006, f"expected welcome, got {type(first).__name__}", retryable=True)
        return ws, first

    async def _serve(self, ws: ClientConnection, welcome: Welcome) -> _Disconnect:
        """Adopt a welcomed connection, re-send un-acked ops, then read until it ends."""
        try:
            self._ws = ws
            self._gen += 1
            self._pacer = _Pacer(welcome.limits)
            self._accept_welcome(welcome)
            if self._my_focus is not None:
                await self._send(ws, Focus(product=self._my_focus))
            if self._my_follow is not None:
                await self._send(ws, Follow(member=self._my_follow))
            await self._flush(ws)
            self._set_joined()  # no await since flush's last check: no op can slip between
            while True:
                self._on_message(self._decode(await ws.recv()))
        except ConnectionClosed as exc:
            return self._closed_by(exc)
        except _Violation as exc:
            self.violations += 1
            log.warning("protocol violation from server, resuming: %s", exc)
            ws.transport.abort()
            return _Disconnect(1006, f"protocol violation: {exc}", retryable=True)
        finally:
            self._joined = False
            self._ws = None
            self._typing.clear()
            for pong in self._pings.values():
                if not pong.done():
                    pong.set_exception(ConnectionError("connection lost before pong"))

    async def _flush(self, ws: ClientConnection) -> None:
        """Send every op not yet sent on this connection, oldest first, until none is left
        (ops submitted meanwhile are queued and picked up by the next round)."""
        while True:
            todo = [p for p in self._pending.values() if p.acked_seq is None and p.sent_gen != self._gen]
            if not todo:
                return
            for op in todo:
                if self._pending.get(op.ref) is op:
                    op.sent_gen = self._gen
                    await self._send(ws, Op(ref=op.ref, op=op.body))

    def _set_joined(self) -> None:
        if self._gen > 1:
            self.reconnects += 1
        self._joined = True
        waiters, self._join_waiters = self._join_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _closed_by(self, exc: ConnectionClosed) -> _Disconnect:
        if exc.rcvd is not None:
            return _classify(exc.rcvd.code, exc.rcvd.reason, self._last_error)
        return _classify(1006, "connection lost", self._last_error)

    # ---- frames (all synchronous: state, acks and subscribers change together) ---------

    def _decode(self, frame: bytes | str) -> object:
        try:
            return decode_server(self._codec, frame)
        except ProtocolError as exc:
            log.warning("ignoring undecodable server frame: %s", exc.message)
            return None

    async def _send(self, ws: ClientConnection, msg: object, *, paced: bool = True) -> None:
        if paced:
            await self._pace(ws)
        await self._write(ws, msg)

    async def _pace(self, ws: ClientConnection) -> None:
        pacer = self._pacer
        if pacer is not None and ws is self._ws:
            await pacer.take()

    async def _write(self, ws: ClientConnection, msg: object) -> None:
        await ws.send(self._codec.encode(msg), text=not self._codec.binary)

    async def _send_if_joined(self, msg: object) -> None:
        self._check_usable()
        ws = self._ws
        if self._joined and ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._send(ws, msg)

    def _accept_welcome(self, welcome: Welcome) -> None:
        self._room = welcome.room
        self._member = welcome.member
        self._role = welcome.role
        self._limits = welcome.limits
        self._ice = welcome.ice
        self._presence = {p.member: p for p in welcome.presence}
        self._focus = {p.member: p.focus for p in welcome.presence}
        if welcome.recovered:
            if welcome.epoch != self._epoch:
                raise _Violation(f"recovered welcome for epoch {welcome.epoch}, ours is {self._epoch}")
            for event in welcome.events:
                if self._apply(event):
                    self._emit(event)
            if self._state.seq != welcome.seq:
                raise _Violation(f"replay ended at {self._state.seq}, welcome says {welcome.seq}")
        else:
            snapshot = welcome.snapshot
            if snapshot is None:
                raise _Violation("welcome has neither events nor a snapshot")
            if snapshot.seq != welcome.seq:
                log.warning("snapshot seq %d != welcome seq %d", snapshot.seq, welcome.seq)
                snapshot.seq = welcome.seq
            new_epoch = self._epoch is not None and self._epoch != welcome.epoch
            self._epoch = welcome.epoch
            self._state = snapshot
            if new_epoch:  # old seqs mean nothing now; those ops were acked, so they are in
                self._settle_applied(everything=True)
            self._state_advanced()
        self._emit(Resynced(welcome.recovered, welcome.epoch, welcome.seq))

    def _on_message(self, msg: object) -> None:
        if isinstance(msg, Event):
            if not self._apply(msg):
                return
        elif isinstance(msg, Ack):
            self._on_ack(msg)
        elif isinstance(msg, Error):
            self._on_error(msg)
        elif isinstance(msg, PresenceUpdate):
            self._on_presence(msg)
        elif isinstance(msg, FocusSignal):
            self._focus[msg.member] = msg.product
            if (entry := self._presence.get(msg.member)) is not None:
                self._presence[msg.member] = msgspec.structs.replace(entry, focus=msg.product)
        elif isinstance(msg, FollowSignal):
            if (entry := self._presence.get(msg.member)) is not None:
                self._presence[msg.member] = msgspec.structs.replace(entry, following=msg.target)
        elif isinstance(msg, TypingSignal):
            if msg.on:
                self._typing.add(msg.member)
            else:
                self._typing.discard(msg.member)
        elif isinstance(msg, Pong):
            pong = self._pings.get(msg.nonce)
            if pong is not None and not pong.done():
                pong.set_result(None)
        elif isinstance(msg, Welcome):
            raise _Violation("second welcome on one connection")
        else:
            return  # undecodable frame (already logged)
        self._emit(msg)

    def _apply(self, event: Event) -> bool:
        """Fold one event; False for a duplicate. A gap raises ``_Violation``."""
        current = self._state.seq
        if event.seq <= current:
            log.debug("duplicate event %d (at %d) ignored", event.seq, current)
            return False
        if event.seq != current + 1:
            raise _Violation(f"gap: event {event.seq} after {current}")
        apply_event(self._state, event)
        self._state_advanced()
        return True

    def _state_advanced(self) -> None:
        seq = self._state.seq
        if self._awaiting_apply:
            self._settle_applied(everything=False)
        if self._seq_waiters:
            for target, waiter in self._seq_waiters:
                if target <= seq and not waiter.done():
                    waiter.set_result(None)

    def _settle_applied(self, *, everything: bool) -> None:
        seq = self._state.seq
        keep: list[_PendingOp] = []
        for op in self._awaiting_apply:
            assert op.acked_seq is not None
            if everything or op.acked_seq <= seq:
                if not op.future.done():
                    op.future.set_result(op.acked_seq)
            else:
                keep.append(op)
        self._awaiting_apply = keep

    def _on_ack(self, ack: Ack) -> None:
        op = self._pending.pop(ack.ref, None)
        if op is None:
            log.debug("ack for unknown ref %s", ack.ref)
            return
        op.acked_seq = ack.seq
        if ack.seq <= self._state.seq:
            if not op.future.done():
                op.future.set_result(ack.seq)
        else:
            self._awaiting_apply.append(op)

    def _on_error(self, error: Error) -> None:
        op = self._pending.get(error.ref) if error.ref else None
        if op is not None:
            if error.code in (ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED):  # transient: same ref, later
                op.retries += 1
                self._spawn(self._retry_op(op, self._gen))
                return
            del self._pending[op.ref]
            if not op.future.done():
                op.future.set_exception(OpRejected(error.code, error.message, error.ref))
            return
        self._last_error = error
        log.warning("server error %s: %s", error.code, error.message)
        if error.code == ErrorCode.RATE_LIMITED and self._resending is None:
            # A refused frame the server could not attribute to an op (older servers sent
            # no ref at all): re-send every un-acked op of this connection (idempotent).
            self._resending = asyncio.create_task(self._resend_unacked(self._gen))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    async def _retry_op(self, op: _PendingOp, gen: int) -> None:
        """Re-send an op the server could not sequence yet, after a backoff."""
        base, cap = self._backoff
        await asyncio.sleep(min(cap, base * 2**op.retries) * random.uniform(0.5, 1.0))
        ws = self._ws
        if ws is None or self._gen != gen or not self._joined or self._pending.get(op.ref) is not op:
            return  # acked meanwhile, or a new connection re-sends it anyway
        with contextlib.suppress(ConnectionClosed):
            await self._send(ws, Op(ref=op.ref, op=op.body))

    async def _resend_unacked(self, gen: int) -> None:
        try:
            pacer = self._pacer
            await asyncio.sleep(1.0 / pacer.rate if pacer is not None and pacer.rate > 0 else 0.1)
            for op in list(self._pending.values()):
                ws = self._ws
                if ws is None or self._gen != gen or not self._joined:
                    return  # a new connection re-sends everything anyway
                if op.acked_seq is None and op.sent_gen == gen and self._pending.get(op.ref) is op:
                    with contextlib.suppress(ConnectionClosed):
                        await self._send(ws, Op(ref=op.ref, op=op.body))
        finally:
            self._resending = None

    def _on_presence(self, update: PresenceUpdate) -> None:
        entry = update.member
        if update.kind == "leave":
            self._presence.pop(entry.member, None)
            self._focus.pop(entry.member, None)
            self._typing.discard(entry.member)
        else:
            self._presence[entry.member] = entry
            self._focus[entry.member] = entry.focus

    def _emit(self, item: Incoming) -> None:
        for sub in list(self._subs):
            sub._push(item)

    # ---- ending -----------------------------------------------------------------------

    def _closing_now(self) -> bool:
        return self._closing

    def _check_usable(self) -> None:
        if self._final is not None:
            raise self._final
        if self._closing:
            raise ConnectionClosedFinal(1000, "closed by the client")

    def _finish(self, reason: ConnectionClosedFinal) -> None:
        """Stop for good (idempotent): fail everything that waits, end subscriptions."""
        if self._final is not None:
            return
        self._final = reason
        self._joined = False
        if not self._closing:
            log.warning("cosession client stopped: %s", reason)
        for op in [*self._pending.values(), *self._awaiting_apply]:
            if not op.future.done():
                op.future.set_exception(reason)
        self._pending.clear()
        self._awaiting_apply.clear()
        for _, waiter in self._seq_waiters:
            if not waiter.done():
                waiter.set_exception(reason)
        for waiter in self._join_waiters:
            if not waiter.done():
                waiter.set_exception(reason)
        for pong in self._pings.values():
            if not pong.done():
                pong.set_exception(reason)
        for sub in list(self._subs):
            sub._end(None if self._closing else reason)
        self._subs.clear()
        if self._resending is not None:
            self._resending.cancel()
        for task in list(self._helpers):
            task.cancel()
        self._closed.set()


__all__ = ["ROOM_MESSAGES", "VERSION", "Disconnected", "Incoming", "Resynced", "RoomClient", "Subscription"]
