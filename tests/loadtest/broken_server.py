"""A deliberately broken cosession server, to prove the load tool's correctness checks.

It speaks just enough of the protocol for the load tool: ``POST /v1/rooms``, ``POST
/v1/invites/{code}/accept``, ``GET /v1/rooms/{room}/snapshot``, and ``/v1/ws`` with
hello → welcome (always a snapshot), presence joins, ops → event broadcast + ack, pings.
Then it breaks one thing, per ``fault``:

* ``drop``: the ``trigger``-th chat event (counted once a second member is connected) is
  not sent to that member (the second connection of the room);
* ``dup``: that event is sent to that member twice;
* ``diverge``: the REST snapshot reports a different room name than the room has;
* ``none``: behaves.

Run it in-process: ``async with running(fault) as url: ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from protocol.codec import JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, Codec
from protocol.messages import (
    Ack,
    Chat,
    Error,
    Event,
    EventBody,
    Focus,
    FocusSignal,
    Hello,
    MemberJoin,
    Op,
    Ping,
    Pong,
    PresenceMember,
    PresenceUpdate,
    RoomCreate,
    RoomState,
    Typing,
    TypingSignal,
    Welcome,
)
from protocol.reducer import apply, check_rules, copy_state


@dataclass
class Conn:
    ws: WebSocket
    codec: Codec
    member: str
    ordinal: int  # 0: the first connection of the room


@dataclass
class Room:
    id: str
    state: RoomState = field(default_factory=RoomState)
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    conns: list[Conn] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    chats: int = 0
    joined: int = 0


class BrokenServer:
    def __init__(self, fault: str, trigger: int = 3) -> None:
        self.fault = fault
        self.trigger = trigger
        self.rooms: dict[str, Room] = {}
        self.invites: dict[str, str] = {}
        self.ids = itertools.count(1)
        self.faults_done = 0
        self.lock = asyncio.Lock()
        self.app = Starlette(
            routes=[
                Route("/v1/rooms", self.create_room, methods=["POST"]),
                Route("/v1/invites/{code}/accept", self.accept, methods=["POST"]),
                Route("/v1/rooms/{room}/snapshot", self.snapshot, methods=["GET"]),
                WebSocketRoute("/v1/ws", self.ws),
            ]
        )

    # ---- REST ------------------------------------------------------------------------

    def _token(self, room: str, member: str, role: str) -> str:
        return f"{room}|{member}|{role}"

    async def create_room(self, request: Request) -> Response:
        body = await request.json()
        room = Room(f"r{next(self.ids)}")
        owner = f"m{next(self.ids)}"
        self.rooms[room.id] = room
        self._append(room, "", RoomCreate(name=body.get("name", "room"), owner=owner, owner_name="owner"))
        code = secrets.token_hex(4)
        self.invites[code] = room.id
        return JSONResponse(
            {
                "room": room.id,
                "member": owner,
                "role": "owner",
                "token": self._token(room.id, owner, "owner"),
                "invite": {"code": code, "url": f"http://x/r/{code}"},
                "ws_url": "",
            },
            status_code=201,
        )

    async def accept(self, request: Request) -> Response:
        room_id = self.invites[request.path_params["code"]]
        member = f"m{next(self.ids)}"
        return JSONResponse(
            {"room": room_id, "member": member, "role": "member", "token": self._token(room_id, member, "member")},
            status_code=201,
        )

    async def snapshot(self, request: Request) -> Response:
        room = self.rooms[request.path_params["room"]]
        state = room.state
        if self.fault == "diverge":
            state = copy_state(state)
            state.name = state.name + " (diverged)"
        body = {"room": room.id, "epoch": room.epoch, "seq": room.state.seq, "state": msgspec.to_builtins(state)}
        return Response(msgspec.json.encode(body), media_type="application/json")

    # ---- the log ---------------------------------------------------------------------

    def _append(self, room: Room, by: str, op: EventBody) -> Event:
        event = Event(seq=room.state.seq + 1, ts=int(time.time() * 1000), by=by, op=op)
        apply(room.state, event)
        return event

    async def _broadcast(self, room: Room, msg: Any, event: Event | None = None) -> None:
        faulty = False
        if event is not None and isinstance(event.op, Chat) and any(c.ordinal == 1 for c in room.conns):
            room.chats += 1
            faulty = room.chats == self.trigger and self.fault in ("drop", "dup")
        for conn in list(room.conns):
            copies = 1
            if faulty and conn.ordinal == 1:
                copies = 0 if self.fault == "drop" else 2
                self.faults_done += 1
            for _ in range(copies):
                with contextlib.suppress(Exception):
                    await self._send(conn, msg)

    async def _send(self, conn: Conn, msg: Any) -> None:
        data = conn.codec.encode(msg)
        if conn.codec.binary:
            await conn.ws.send_bytes(data)
        else:
            await conn.ws.send_text(data.decode())

    # ---- WebSocket -------------------------------------------------------------------

    async def ws(self, ws: WebSocket) -> None:
        offered = ws.scope.get("subprotocols", [])
        proto = JSON_SUBPROTOCOL if JSON_SUBPROTOCOL in offered and MSGPACK_SUBPROTOCOL not in offered else None
        proto = proto or MSGPACK_SUBPROTOCOL
        await ws.accept(subprotocol=proto if proto in offered else None)
        codec = Codec("json" if proto == JSON_SUBPROTOCOL else "msgpack")
        first = await ws.receive()
        raw = first.get("bytes") if first.get("bytes") is not None else first.get("text")
        hello = codec.decode_client(raw or b"")
        assert isinstance(hello, Hello)
        room_id, member, role = hello.token.split("|")
        room = self.rooms[room_id]
        async with self.lock:
            if member not in room.state.members:
                event = self._append(room, "", MemberJoin(member=member, name=member, role=role))  # type: ignore[arg-type]
                await self._broadcast(room, event, event)
            conn = Conn(ws, codec, member, room.joined)
            room.joined += 1
            presence = [PresenceMember(member=c.member, name=c.member, role="member") for c in room.conns]
            me = PresenceMember(member=member, name=member, role="member")
            await self._send(
                conn,
                Welcome(
                    room=room.id,
                    member=member,
                    role=role,  # type: ignore[arg-type]
                    epoch=room.epoch,
                    seq=room.state.seq,
                    recovered=False,
                    snapshot=copy_state(room.state),
                    presence=[*presence, me],
                    server="broken",
                ),
            )
            room.conns.append(conn)
            await self._broadcast(room, PresenceUpdate(kind="join", member=me))
        try:
            while True:
                frame = await ws.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                raw = frame.get("bytes") if frame.get("bytes") is not None else frame.get("text")
                msg = codec.decode_client(raw or b"")
                if isinstance(msg, Op):
                    async with self.lock:
                        refused = check_rules(room.state, member, msg.op)
                        if refused is not None:
                            await self._send(conn, Error(code=refused.code, message="refused", ref=msg.ref))
                            continue
                        event = self._append(room, member, msg.op)
                        await self._broadcast(room, event, event)
                        await self._send(conn, Ack(ref=msg.ref, seq=event.seq))
                elif isinstance(msg, Ping):
                    await self._send(conn, Pong(nonce=msg.nonce))
                elif isinstance(msg, Focus):
                    await self._broadcast(room, FocusSignal(member=member, product=msg.product))
                elif isinstance(msg, Typing):
                    await self._broadcast(room, TypingSignal(member=member, on=msg.on))
        except WebSocketDisconnect:
            pass
        finally:
            with contextlib.suppress(ValueError):
                room.conns.remove(conn)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running(fault: str, trigger: int = 3) -> AsyncIterator[tuple[str, BrokenServer]]:
    broken = BrokenServer(fault, trigger)
    port = _free_port()
    config = uvicorn.Config(broken.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(15):
            while not server.started:
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}", broken
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await task
