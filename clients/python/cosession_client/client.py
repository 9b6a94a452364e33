"""``RoomClient``: one member's live connection to a room, the typed API.

The connection logic (folding the event log, un-acked ops, gaps, resume, backoff, pacing,
close codes) is the pure session in ``session.py``; ``shell.py`` runs it over asyncio and
websockets. This module is what applications use: ``RoomClient.connect(...)``, the room
state and presence, typed ops that return their seq once applied, signals, subscriptions.
Own ops are never applied early: ``state`` only changes by events from the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import Any

import msgspec

from cosession_client.errors import ConnectionClosedFinal, OpRejected, TooManyPending
from cosession_client.observer import ClientObserver, Observer
from cosession_client.outputs import Bucket, Disconnected, Resynced, Signal
from cosession_client.questions import RoomQuestions
from cosession_client.rest import (
    CreatedInvite,
    Snapshot,
    accept_invite,
    base_urls,
    close_help,
    create_invite,
    get_checkout,
    get_snapshot,
    is_invite_link,
    parse_invite_link,
    resolve_ws_url,
)
from cosession_client.settings import ClientSettings
from cosession_client.shell import CallMessage, Shell
from cosession_client.signals import RoomOps
from cosession_client.subscription import ROOM_MESSAGES, Incoming, Subscription
from cosession_client.transport import VERSION
from protocol.codec import contains_nul
from protocol.messages import (
    CheckoutRequest,
    CheckoutScope,
    CheckoutStart,
    ClientOpBody,
    HelpRequestInfo,
    IceServer,
    Limits,
    Ping,
    Poll,
    PresenceMember,
    Product,
    Role,
    RoomState,
    Unread,
)

_op_encoder = msgspec.msgpack.Encoder()
_op_decoder = msgspec.msgpack.Decoder(ClientOpBody)


def validate_op(body: ClientOpBody) -> None:
    """Raise ``msgspec.ValidationError`` (a ValueError) if ``body`` breaks the schema's
    constraints: the server could only answer it with a ref-less error (U+0000 in any
    string included, SPEC section 1)."""
    _op_decoder.decode(_op_encoder.encode(body))
    if contains_nul(body):
        raise msgspec.ValidationError("strings must not contain U+0000")


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


class RoomClient(RoomOps, RoomQuestions):
    """A live member of one room. Create with ``await RoomClient.connect(...)``.

    ``settings`` (a ``ClientSettings``) and keyword ``options`` (its fields: ``format``,
    ``reconnect``, ``backoff``, ``op_timeout``, ...) configure it; ``observer`` receives
    the instrumentation calls of ``cosession_client.observer``.
    """

    def __init__(
        self,
        *,
        token: str,
        ws_url: str,
        http_url: str,
        settings: ClientSettings | None = None,
        observer: ClientObserver | None = None,
        **options: Any,
    ) -> None:
        self.token = token
        self.ws_url = ws_url
        self.http_url = http_url
        self.settings = (settings or ClientSettings()).replace(**options)
        self._shell: Shell | None = None
        self._observer: ClientObserver = observer or Observer()
        self._started = False

    @property
    def _core(self) -> Shell:
        if self._shell is None:  # built on first use: it needs the running event loop
            self._shell = Shell(self.token, lambda: self.ws_url, self.settings, self._observer)
        return self._shell

    @classmethod
    def connect(
        cls,
        url_or_token: str,
        *,
        server: str | None = None,
        name: str | None = None,
        settings: ClientSettings | None = None,
        observer: ClientObserver | None = None,
        **options: Any,
    ) -> _Connect:
        """Join a room; returns once welcomed. Await it or use it as ``async with``.

        ``url_or_token`` is an invite link (``http://host/r/CODE``: accepted over REST
        as ``name``, which is then required) or a join token (``server`` is then the
        server's http(s) base URL or its ``ws(s)://.../v1/ws`` endpoint). Raises
        ``ApiError`` (invite refused), ``ConnectionClosedFinal`` (token refused) or
        ``TimeoutError`` (no welcome within ``connect_timeout``, retries included).
        """
        chosen = (settings or ClientSettings()).replace(**options)

        async def open_client() -> RoomClient:
            if is_invite_link(url_or_token):
                if not name:
                    raise ValueError("joining by invite link needs name=")
                http_url, code = parse_invite_link(url_or_token)
                joined = await accept_invite(http_url, code, name, request_timeout=chosen.connect_timeout)
                token, ws_url = joined.token, resolve_ws_url(http_url, joined.ws_url)
            else:
                if server is None:
                    raise ValueError("joining by token needs server= (the server's base URL)")
                http_url, ws_url = base_urls(server)
                token = url_or_token
            client = cls(token=token, ws_url=ws_url, http_url=http_url, settings=chosen, observer=observer)
            await client.start()
            return client

        return _Connect(open_client)

    async def start(self) -> None:
        """Connect and wait for the first welcome (bounded by ``connect_timeout``)."""
        if self._started:
            raise RuntimeError("client already started")
        self._started = True
        self._core.start()
        try:
            await self.wait_connected(timeout=self.settings.connect_timeout)
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
        return self._core.session.room

    @property
    def seq(self) -> int:
        return self.state.seq

    @property
    def polls(self) -> list[Poll]:
        """The room's polls (SPEC 17.2), oldest first: votes, and tally/winner once closed."""
        return self.state.polls

    @property
    def epoch(self) -> str | None:
        return self._core.session.epoch

    @property
    def room(self) -> str:
        welcome = self._core.session.welcome
        return "" if welcome is None else welcome.room

    @property
    def member(self) -> str:
        welcome = self._core.session.welcome
        return "" if welcome is None else welcome.member

    @property
    def role(self) -> Role:
        welcome = self._core.session.welcome
        return "viewer" if welcome is None else welcome.role

    @property
    def limits(self) -> Limits | None:
        welcome = self._core.session.welcome
        return None if welcome is None else welcome.limits

    @property
    def ice_servers(self) -> list[IceServer]:
        welcome = self._core.session.welcome
        return [] if welcome is None else welcome.ice

    @property
    def presence(self) -> dict[str, PresenceMember]:
        """Who is here right now, by member id."""
        return self._core.view.presence

    @property
    def focus(self) -> dict[str, Product | None]:
        """What each present member is looking at (None: nothing)."""
        return self._core.view.focus

    @property
    def typing_members(self) -> set[str]:
        return self._core.view.typing

    @property
    def connected(self) -> bool:
        return self._core.session.state == "live"

    @property
    def closed(self) -> bool:
        return self._core.final is not None

    @property
    def pending(self) -> int:
        """Ops submitted and not yet acknowledged (what ``max_pending`` bounds)."""
        return len(self._core.session.pending)

    @property
    def in_flight(self) -> int:
        """Submitted ops whose frame has been written at least once and whose ack has not
        arrived yet (a fault that strikes now catches them un-acknowledged)."""
        return sum(1 for op in self._core.session.pending.values() if op.sent)

    @property
    def reconnects(self) -> int:
        """Completed re-joins after the first one."""
        return self._core.session.reconnects

    @property
    def violations(self) -> int:
        """Protocol violations seen (gaps, bad welcomes); each one was repaired by a resume."""
        return self._core.session.violations

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
        if self.pending >= self.settings.max_pending:
            raise TooManyPending(f"{self.pending} ops are waiting for their ack")
        ref, future = self._core.submit(body)
        try:
            async with asyncio.timeout(self.settings.op_timeout if timeout is None else timeout):
                return await asyncio.shield(future)
        except (TimeoutError, asyncio.CancelledError):
            self._core.abandon(ref)
            raise

    async def request_checkout(self, scope: CheckoutScope = "all", *, timeout: float | None = None) -> CheckoutStart:
        """Ask for a signed checkout snapshot of the whole cart (``all``, owner only) or of
        the lines this member added (``mine``); returns the ``checkout.start`` the server
        sequenced (its ``sig`` verifies per docs/checkout.md). Raises like ``submit``
        (``OpRejected`` with code ``forbidden`` / ``empty_checkout``)."""
        seq = await self.submit(CheckoutRequest(scope=scope), timeout=timeout)
        record = next((c for c in self.state.checkouts if c.seq == seq), None)
        if record is None:
            raise OpRejected("internal", "the checkout folded as a no-op")
        return (await get_checkout(self.http_url, self.token, record.id)).checkout

    # ---- read cursor, unread and away (SPEC 15) ----------------------------------------

    @property
    def read_cursor(self) -> int:
        """The member's read cursor: the last seq shown on any of its devices."""
        return self._core.reads.cursor

    @property
    def unread(self) -> Unread:
        """What is unread now (the welcome's counts plus later events by others)."""
        return self._core.reads.unread

    @property
    def since_last_visit(self) -> Unread:
        """The last welcome's counts: what changed while the member was away."""
        return self._core.reads.since

    def mark_read(self, seq: int | None = None) -> None:
        """Mark every event up to ``seq`` (default: the current head) as shown. Sent to
        the server (at most every ``read_interval``), which tells the member's other
        devices; the cursor never moves back. ``auto_read=True`` does it for every event."""
        self._check_usable()
        self._core.mark_read(self.seq if seq is None else seq)

    def away(self, on: bool = True) -> None:
        """Say this client is in the background (``on``) or back: others see the member
        "away" while all its connections are. Re-sent after a reconnect."""
        self._check_usable()
        self._core.set_away(on)

    @property
    def help_request(self) -> HelpRequestInfo | None:
        """The room's help request that is open or claimed (``associate_name`` says who is
        helping), or None."""
        return next((h for h in self.state.help if h.state != "closed"), None)

    async def close_help(self, request: int | None = None) -> None:
        """Close the room's help request (default: the open one), through REST (SPEC 21.3)."""
        if request is None:
            current = self.help_request
            if current is None:
                return
            request = current.id
        await close_help(self.http_url, self.token, self.room, request)

    def _signal(self, msg: Signal) -> None:
        self._check_usable()
        self._core.signal(msg)

    def send_call(self, msg: CallMessage) -> None:
        """Send a call frame (``call.join``, ``call.leave``, ``call.state``, ``signal``)
        now. Raises ``ConnectionError`` while not connected: call frames are ephemeral;
        after a reconnect ``cosession_client.call.Call`` joins again."""
        self._check_usable()
        if not self._core.send_now(msg):
            raise ConnectionError("not connected")

    async def ping(self, timeout: float = 10.0) -> float:
        """Round-trip time in seconds of an application-level ping (waits for a connection)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            await self.wait_connected()
            nonce, pong = self._core.ping()
            started = loop.time()
            try:
                self._core.signal(Ping(nonce=nonce))
                await pong
            finally:
                self._core.forget_ping(nonce)
            return loop.time() - started

    # ---- REST conveniences ------------------------------------------------------------

    async def create_invite(
        self, role: Role = "member", *, expires_in: int | None = None, max_uses: int | None = None
    ) -> CreatedInvite:
        return await create_invite(
            self.http_url, self.token, self.room, role=role, expires_in=expires_in, max_uses=max_uses
        )

    async def fetch_snapshot(self) -> Snapshot:
        """The server's current snapshot over REST (does not touch ``state``)."""
        return await get_snapshot(self.http_url, self.token, self.room)

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
        core = self._core
        sub = Subscription(self._unsubscribe, kinds, limit or self.settings.subscription_limit, self.seq)
        if core.final is not None:
            sub.end(None if core.closing else core.final)
        else:
            core.subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub in self._core.subs:
            self._core.subs.remove(sub)

    async def wait_for_seq(self, seq: int, timeout: float | None = 10.0) -> None:
        """Wait until ``state`` has folded event ``seq`` (TimeoutError after ``timeout``)."""
        self._check_usable()
        if self.seq < seq:
            async with asyncio.timeout(timeout):
                await self._core.wait_seq(seq)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until joined (welcomed, and un-acked ops re-sent)."""
        self._check_usable()
        if not self.connected:
            async with asyncio.timeout(timeout):
                await self._core.wait_joined()

    async def wait_closed(self) -> ConnectionClosedFinal | None:
        """Wait until the client stopped for good; return why (None if never started)."""
        await self._core.stopped.wait()
        return self._core.final

    async def close(self) -> None:
        """Leave: close the socket (code 1000), stop reconnecting, fail pending ops."""
        await self._core.close()

    def drop_connection(self) -> None:
        """Abort the socket without a close frame, like a network loss: the client
        reconnects and resumes on its own (tests and the load tool's chaos use this)."""
        self._core.drop()

    def _check_usable(self) -> None:
        core = self._core
        if core.final is not None:
            raise core.final
        if core.closing:
            raise ConnectionClosedFinal(1000, "closed by the client")

    # ---- test hooks (kept for the integration tests) ----------------------------------

    _drop_connection = drop_connection

    @property
    def _state(self) -> RoomState:
        return self._core.session.room

    @_state.setter
    def _state(self, state: RoomState) -> None:
        self._core.session.room = state

    @property
    def _pacer(self) -> Bucket | None:
        return self._core.session.bucket


__all__ = [
    "ROOM_MESSAGES",
    "VERSION",
    "ClientSettings",
    "Disconnected",
    "Incoming",
    "Resynced",
    "RoomClient",
    "Subscription",
]
