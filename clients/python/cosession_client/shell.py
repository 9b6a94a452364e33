"""The asyncio shell around the room session: sockets, the timer, futures, subscribers.

``Shell`` feeds the pure ``Session`` what happens (a socket opened, a frame arrived, a
socket closed, the timer fired, the application's intents) and carries out what it
answers (open, send, deliver, arm the timer, resolve or fail an op, drop, close, stop).
Each connection has a reader task (feeding frames) and a writer task (sending, in
order); the session decides everything else. ``RoomClient`` is the typed API on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from cosession_client import outputs
from cosession_client.errors import ConnectionClosedFinal, OpRejected
from cosession_client.observer import ClientObserver
from cosession_client.outputs import Disconnected, Output, Resynced, SessionSettings, Signal
from cosession_client.reading import ReadTracker
from cosession_client.session import Session
from cosession_client.settings import ClientSettings
from cosession_client.subscription import Incoming, Subscription
from cosession_client.tolerant import decode_server
from cosession_client.transport import CLOSE_WAIT, VERSION, Refused, open_socket
from cosession_client.view import RoomView
from protocol.codec import Codec
from protocol.errors import ProtocolError
from protocol.messages import (
    Away,
    CallJoin,
    CallLeave,
    CallStateChange,
    ClientOpBody,
    Error,
    Event,
    Pong,
    Read,
    ReadSignal,
    ServerMessage,
    Welcome,
)
from protocol.messages import Signal as CallSignal

CallMessage = CallJoin | CallLeave | CallStateChange | CallSignal

log = logging.getLogger("cosession_client")


def retrieve(fut: asyncio.Future[Any]) -> None:
    """Done-callback: mark a future's exception as seen (its caller may have timed out)."""
    if not fut.cancelled():
        fut.exception()


def session_settings(token: str, settings: ClientSettings) -> SessionSettings:
    base, cap = settings.backoff
    return SessionSettings(
        token=token,
        client="python",
        version=VERSION,
        device=settings.device,
        reconnect=settings.reconnect,
        max_attempts=settings.max_attempts,
        backoff_ms=(round(base * 1000), round(cap * 1000)),
        stable_ms=round(cap * 1000),  # a connection that dies sooner than the cap keeps backing off
        welcome_timeout_ms=round(settings.welcome_timeout * 1000),
    )


class _Conn:
    """One connection attempt: its socket once open, its tasks, and whether the session
    has moved on from it (``dead``: feed nothing more from it)."""

    def __init__(self) -> None:
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None
        self.writes: asyncio.Queue[bytes] = asyncio.Queue()
        self.dead = False
        self.welcomed = False
        self.dropped = False  # by drop_connection()


class Shell:
    def __init__(
        self, token: str, ws_url: Callable[[], str], settings: ClientSettings, observer: ClientObserver
    ) -> None:
        self.ws_url = ws_url  # read at every connection attempt (the URL may change meanwhile)
        self.settings = settings
        self.observer = observer
        self.codec = Codec(settings.format)
        self.session = Session(session_settings(token, settings), random.random)
        self.view = RoomView()
        self.reads = ReadTracker()  # read cursor and unread counts (SPEC 15)
        self.away = False  # the application said it is in the background
        self._read_sent = 0
        self._read_timer: asyncio.TimerHandle | None = None
        self.final: ConnectionClosedFinal | None = None
        self.closing = False
        self.stopped = asyncio.Event()
        self.subs: list[Subscription] = []
        self._conn: _Conn | None = None
        self._closer: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0
        self._ref_prefix = secrets.token_hex(3)
        self._refs = itertools.count(1)
        self._nonces = itertools.count(1)
        self._ops: dict[str, asyncio.Future[int]] = {}
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._seq_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._join_waiters: list[asyncio.Future[None]] = []

    @property
    def _loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def now(self) -> int:
        return int(self._loop.time() * 1000)

    # ---- intents ------------------------------------------------------------------------

    def start(self) -> None:
        self.feed(self.session.start(self.now()))

    def submit(self, body: ClientOpBody) -> tuple[str, asyncio.Future[int]]:
        ref = f"{self._ref_prefix}-{next(self._refs)}"
        future: asyncio.Future[int] = self._future()
        self._ops[ref] = future
        self.feed(self.session.submit(self.now(), ref, body))
        return ref, future

    def abandon(self, ref: str) -> None:
        self.feed(self.session.abandon(self.now(), ref))
        if ref not in self.session.pending and all(op.ref != ref for op in self.session.awaiting):
            self._ops.pop(ref, None)  # it never left this process: it will never apply

    def signal(self, msg: Signal) -> None:
        self.feed(self.session.signal(self.now(), msg))

    def ping(self) -> tuple[int, asyncio.Future[None]]:
        if self.session.state != "live":
            raise ConnectionError("not connected")
        nonce = next(self._nonces)
        pong: asyncio.Future[None] = self._future()
        self._pings[nonce] = pong
        return nonce, pong

    def forget_ping(self, nonce: int) -> None:
        self._pings.pop(nonce, None)

    def drop(self) -> None:
        """Abort the socket without a close frame (like a network loss)."""
        conn = self._conn
        if conn is not None and conn.ws is not None and not conn.dead:
            self.observer.dropping()
            conn.dropped = True
            conn.ws.transport.abort()

    async def close(self) -> None:
        self.closing = True
        self.feed(self.session.close(self.now()))
        closer, conn = self._closer, self._conn
        if closer is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(CLOSE_WAIT):
                    await asyncio.shield(closer)
        if conn is not None and conn.task is not None and conn.task is not asyncio.current_task():
            conn.task.cancel()
            await asyncio.gather(conn.task, return_exceptions=True)
        if conn is not None and conn.ws is not None:
            conn.ws.transport.abort()  # whatever did not close in time
        self._finish(ConnectionClosedFinal(1000, "closed by the client"))

    async def wait_seq(self, seq: int) -> None:
        waiter = self._future()
        await self._wait_in(self._seq_waiters, (seq, waiter), waiter)

    async def wait_joined(self) -> None:
        waiter = self._future()
        await self._wait_in(self._join_waiters, waiter, waiter)

    async def _wait_in(self, waiters: list[Any], entry: object, waiter: asyncio.Future[None]) -> None:
        waiters.append(entry)
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):
                waiters.remove(entry)

    def _future(self) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop.create_future()
        future.add_done_callback(retrieve)
        return future

    # ---- carrying out the session's outputs ---------------------------------------------

    def feed(self, actions: list[Output]) -> None:
        for out in actions:
            if isinstance(out, outputs.Send):
                self._send(out)
            elif isinstance(out, outputs.Deliver):
                self._deliver(out.msg)
            elif isinstance(out, outputs.Done):
                if (future := self._ops.pop(out.ref, None)) is not None and not future.done():
                    future.set_result(out.seq)
            elif isinstance(out, outputs.Failed):
                if (future := self._ops.pop(out.ref, None)) is not None and not future.done():
                    future.set_exception(OpRejected(out.code, out.message, out.ref))
            elif isinstance(out, outputs.Timer):
                self._arm(out.at)
            elif isinstance(out, outputs.Open):
                conn = self._conn = _Conn()
                conn.task = asyncio.create_task(self._connection(conn), name=f"cosession-{self._ref_prefix}")
            elif isinstance(out, outputs.Drop):
                self._abandon_conn(out.reason)
            elif isinstance(out, outputs.Close):
                self._close_conn(out)
            elif isinstance(out, outputs.Stopped):
                last = self.session.last_error  # the error frame before the close says why, for humans
                message = last.message if last is not None and last.code == out.error else ""
                self._finish(ConnectionClosedFinal(out.code, out.reason, out.error, message))
        seq = self.session.room.seq
        for target, waiter in self._seq_waiters:
            if target <= seq and not waiter.done():
                waiter.set_result(None)
        if self.session.state == "live" and self._join_waiters:
            waiters, self._join_waiters = self._join_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def send_now(self, msg: CallMessage) -> bool:
        """A call frame (SPEC section 14), sent at once when live (the server counts
        ``signal`` / ``call.state`` with a bucket of their own, not the op pacing);
        False when not live (ephemeral: nothing is queued)."""
        conn = self._conn
        if self.session.state != "live" or conn is None or conn.dead:
            return False
        self.observer.frame_out(msg)
        conn.writes.put_nowait(self.codec.encode(msg))
        return True

    def _send(self, out: outputs.Send) -> None:
        conn = self._conn
        if conn is not None and not conn.dead:
            self.observer.frame_out(out.msg)
            conn.writes.put_nowait(self.codec.encode(out.msg))

    def _deliver(self, msg: ServerMessage | Resynced | Disconnected) -> None:
        if isinstance(msg, Resynced):
            if self._conn is not None:
                self._conn.welcomed = True
            if self.session.welcome is not None:
                self.view.welcome(self.session.welcome)
                self._welcomed(self.session.welcome)
            self.observer.joined(msg)
        elif isinstance(msg, Disconnected):
            self.view.disconnected()
            self._fail_pings(ConnectionError("connection lost before pong"))
            dropped = self._conn is not None and self._conn.dropped
            self.observer.disconnected(msg.code, msg.reason, retrying=msg.retrying, by_client=dropped)
        elif isinstance(msg, Pong):
            if (pong := self._pings.get(msg.nonce)) is not None and not pong.done():
                pong.set_result(None)
        elif isinstance(msg, Error) and not msg.ref:
            log.warning("server error %s: %s", msg.code, msg.message)
        elif isinstance(msg, ReadSignal):
            self.reads.heard(msg.seq)
            self._read_sent = max(self._read_sent, msg.seq)
        else:
            self.view.apply(msg)
            if isinstance(msg, Event):
                self.reads.event(msg)
        item: Incoming = msg  # type: ignore[assignment]  # (a welcome is never delivered)
        for sub in list(self.subs):
            sub.push(item)
        if self.settings.auto_read and isinstance(msg, Event):
            self.mark_read(msg.seq)

    # ---- read cursor and away (SPEC 15) ---------------------------------------------------

    def _welcomed(self, welcome: Welcome) -> None:
        self.reads.welcome(welcome)
        self._read_sent = welcome.read
        if self.reads.cursor > welcome.read:  # marked while disconnected: tell the server now
            self._flush_read()
        if self.away:
            self.signal(Away(on=True))

    def mark_read(self, seq: int) -> None:
        """Everything up to ``seq`` was shown: move the cursor, and send ``read`` at most
        once per ``read_interval`` (the latest cursor wins)."""
        if not self.reads.mark(min(seq, self.session.room.seq)):
            return
        if self._read_timer is None:
            self._flush_read()

    def _flush_read(self) -> None:
        self._read_timer = None
        if self.reads.cursor <= self._read_sent or self.session.state != "live":
            return
        self._read_sent = self.reads.cursor
        self.signal(Read(seq=self.reads.cursor))
        self._read_timer = self._loop.call_later(self.settings.read_interval, self._flush_read)

    def set_away(self, on: bool) -> None:
        self.away = on
        self.signal(Away(on=on))

    def _arm(self, at: int | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if at is not None:
            self._timer_at = at
            self._timer = self._loop.call_at(at / 1000, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self.feed(self.session.tick(max(self.now(), self._timer_at)))  # call_at may fire a little early

    def _abandon_conn(self, reason: str) -> None:
        conn = self._conn
        if conn is None:
            return
        conn.dead = True
        if not conn.welcomed:
            self.observer.connect_failed(1006, reason, None)
        if conn.ws is not None:
            conn.ws.transport.abort()
        log.warning("dropping the connection: %s", reason)

    def _close_conn(self, out: outputs.Close) -> None:
        conn = self._conn
        if conn is None:
            return
        conn.dead = True
        if conn.ws is None:
            if conn.task is not None:
                conn.task.cancel()
            return
        if conn.welcomed:
            self.observer.disconnected(out.code, out.reason, retrying=False, by_client=True)
        self._closer = asyncio.create_task(conn.ws.close(out.code, out.reason))

    def _finish(self, why: ConnectionClosedFinal) -> None:
        """Stop for good (idempotent): fail everything that waits, end subscriptions."""
        if self.final is not None:
            return
        self.final = why
        if not self.closing:
            log.warning("cosession client stopped: %s", why)
        self._arm(None)
        futures: list[asyncio.Future[Any]] = [*self._ops.values(), *self._join_waiters]
        for future in futures + [waiter for _, waiter in self._seq_waiters]:
            if not future.done():
                future.set_exception(why)
        self._ops.clear()
        self._fail_pings(why)
        for sub in list(self.subs):
            sub.end(None if self.closing else why)
        self.subs.clear()
        self.observer.stopped(why, by_client=self.closing)
        self.stopped.set()

    def _fail_pings(self, error: Exception) -> None:
        for pong in self._pings.values():
            if not pong.done():
                pong.set_exception(error)

    # ---- one connection -----------------------------------------------------------------

    async def _connection(self, conn: _Conn) -> None:
        self.observer.connecting()
        try:
            ws = await open_socket(self.ws_url(), self.codec, self.settings)
        except Refused as refused:
            self._lost(conn, refused.code, refused.reason, final=refused.final)
            return
        if conn.dead:
            ws.transport.abort()
            return
        conn.ws = ws
        self.observer.opened()
        writer = asyncio.create_task(self._writer(conn, ws))
        code, reason, final = 1006, "connection lost", False
        try:
            self.feed(self.session.opened(self.now()))
            while not conn.dead:
                msg = self._decode(await ws.recv())
                if msg is not None and not conn.dead:
                    self.observer.frame_in(msg)
                    self.feed(self.session.received(self.now(), msg))
        except ConnectionClosed as exc:
            if exc.rcvd is not None:
                code, reason = exc.rcvd.code, exc.rcvd.reason
        except Exception as exc:  # a bug here must not leave callers hanging
            log.exception("cosession client reader failed")
            ws.transport.abort()
            code, reason, final = 1011, f"client error: {exc!r}", True
        finally:
            writer.cancel()
        self._lost(conn, code, reason, final=final)

    def _lost(self, conn: _Conn, code: int, reason: str, *, final: bool = False) -> None:
        if conn.dead:
            return
        conn.dead = True
        error = self.session.last_error
        actions = self.session.closed(self.now(), code, reason, final=final)
        if not conn.welcomed:
            self.observer.connect_failed(code, reason, None if error is None else error.code)
        self.feed(actions)

    async def _writer(self, conn: _Conn, ws: ClientConnection) -> None:
        text = not self.codec.binary
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.send(await conn.writes.get(), text=text)

    def _decode(self, frame: bytes | str) -> ServerMessage | None:
        try:
            return decode_server(self.codec, frame)
        except ProtocolError as exc:
            log.warning("ignoring undecodable server frame: %s", exc.message)
            return None
