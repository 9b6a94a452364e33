"""Server settings: one frozen dataclass, filled from CLI flags and ``COSESSION_*`` env vars."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from protocol.messages import Limits
from protocol.reducer import RoomLimits


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite:///cosession.db"
    secret: str = ""  # HMAC key for tokens; empty = generated and kept beside the SQLite file
    public_url: str = ""  # base URL printed in invite links; default http://host:port
    redis_url: str = ""  # set: cluster mode (Redis sequences and fans out; use PostgreSQL)
    node_id: str = ""  # cluster node name; default: generated per process
    write_timeout: float = 30.0  # how long an op may wait for Redis before `unavailable`
    node_ttl: float = 3.0  # seconds after which a silent node's members are dropped
    # limits
    max_frame_bytes: int = 64 * 1024
    ops_per_second: float = 20.0
    ops_burst: int = 40
    max_members: int = 2000  # distinct members online in one room
    max_chat_chars: int = 2000
    max_cart_lines: int = 200
    send_queue_bytes: int = 1024 * 1024
    # events waiting for the database (all rooms of the node); beyond it ops get
    # `unavailable` (retry later), so an outage cannot grow memory without bound
    commit_queue_max: int = 10_000
    slow_close_grace: float = 10.0  # after an overflow, seconds the client has to read up to the close frame
    hello_timeout: float = 10.0
    # rooms
    history_events: int = 1000  # replay window for resume
    idempotency_events: int = 10_000  # (member, ref) retries recognised within this many events
    snapshot_every: int = 500  # events between stored snapshots
    presence_grace: float = 3.0  # seconds before "left" is shown
    away_grace: float = 120.0  # seconds a member whose last connection was in the background stays "away" (SPEC 15)
    unread_scan_max: int = 10_000  # stored events a welcome counts unread at most (the newest ones, SPEC 15)
    room_idle_unload: float = 300.0  # seconds without connections before a room leaves memory
    token_ttl: float = 30 * 24 * 3600.0
    # abuse bounds: calls per client address per minute (burst of the same size; 0 = no limit), per node
    rooms_per_minute: int = 60  # POST /v1/rooms, anonymous or with a publishable key
    accepts_per_minute: int = 3000  # POST /v1/invites/{code}/accept (generous: many phones share one NAT address)
    pk_invites_per_minute: int = 60  # POST /v1/rooms/{room}/invites with a publishable key
    max_connections_per_member: int = 16  # open connections of one member in one room, per node
    max_room_members: int = 10_000  # members a room can ever hold (state.members, kicked ones included)
    # calls (SPEC section 14)
    stun_urls: tuple[str, ...] = ()  # e.g. stun:stun.example.com:3478
    turn_urls: tuple[str, ...] = ()  # e.g. turn:turn.example.com:3478?transport=udp
    turn_secret: str = ""  # coturn's static-auth-secret (use-auth-secret); TURN URLs need it
    turn_ttl: float = 24 * 3600.0  # seconds a TURN credential from a welcome stays valid
    call_mode: str = "auto"  # auto: mesh up to call_mesh_max participants, relay above; relay: always relay
    call_mesh_max: int = 4
    call_relay_max: int = 16  # participants the server relay forwards at most (each costs n-1 tracks down)
    call_relay_addresses: tuple[str, ...] = ()  # ICE host addresses of the relay (empty: all but loopback)
    signals_per_second: float = 50.0  # `signal` / `call.state` frames, their own token bucket
    signals_burst: int = 200
    # tenants and browsers
    require_tenant: bool = False  # refuse POST /v1/rooms without a tenant key
    demo: bool = False  # serve the demo shop at /demo (and ensure its tenant)
    # anonymous trends (GET /v1/trends, cosession report)
    trends_min_group: int = 10  # k: no published figure describes fewer rooms/people; a request may ask more
    trends_max_rooms: int = 20_000  # rooms one trends query scans at most (newest first)
    trends_per_minute: int = 30  # trends queries per tenant per minute, per node (0: no limit)
    # webhooks (docs/webhooks.md): retry schedule, per-attempt timeout, attempts in flight
    # per node (0: this node delivers nothing), lease on a claimed message, poll interval
    webhook_retries: int = 10
    webhook_retry_base: float = 30.0
    webhook_retry_factor: float = 3.0
    webhook_retry_cap: float = 6 * 3600.0
    webhook_timeout: float = 10.0
    webhook_concurrency: int = 16
    webhook_lease: float = 60.0
    webhook_poll: float = 1.0
    webhook_log_days: float = 7.0  # delivered and dead messages (and attempts) kept this long (0: forever)
    webhooks_api_per_minute: int = 120  # webhook management calls per tenant per minute (0: no limit)
    max_webhook_endpoints: int = 20  # per tenant
    # notifications while away (SPEC 18, docs/notifications.md): quiet window per member and
    # room, Web Push (VAPID key: "" = generated once and kept in the database), push calls
    notify_quiet: float = 600.0  # seconds: at most one notification per member per room, then a digest
    notify_poll: float = 1.0  # seconds between digest sweeps / push rounds
    push_vapid_key: str = ""  # base64url raw P-256 private key; "" = the database's (made once)
    push_subject: str = "mailto:push@cosession.invalid"  # VAPID "sub" claim: how a push service reaches you
    push_ttl: int = 86_400  # seconds a push service keeps an undelivered message
    push_timeout: float = 10.0  # seconds per push call
    push_concurrency: int = 8  # push calls in flight per node (0: this node sends no push)
    push_allow_http: bool = False  # accept http:// push endpoints (tests, local push services only)
    push_max_subscriptions: int = 5  # per member per room
    notify_api_per_minute: int = 60  # notify REST calls per member per minute, per node (0: no limit)
    # storage
    sqlite_synchronous: str = "FULL"  # FULL: an ack survives power loss; NORMAL: survives a process crash
    # admin API (cosession/admin): calls per tenant per minute, per node; retention sweeps
    admin_per_minute: int = 600
    retention_sweep_seconds: float = 60.0  # between retention sweeps (close idle rooms, purge closed ones)
    # polls (SPEC 17): the shortest deadline a poll.create may set (tests lower it), and
    # the longest wait between two deadline sweeps (a node also wakes at the next deadline)
    poll_min_deadline_ms: int = 60_000
    poll_sweep_seconds: float = 5.0
    log_format: str = "auto"  # auto | json | console
    log_level: str = "info"
    # retailer catalog calls (cart revalidation, docs/checkout.md)
    catalog_timeout: float = 2.0  # seconds per call
    catalog_concurrency: int = 16  # calls in flight per process
    catalog_breaker_failures: int = 5  # failures in a row that open a catalog's breaker
    catalog_breaker_cooldown: float = 30.0  # seconds open before one probe call
    catalog_interval: float = 60.0  # seconds between re-checks of an active room's cart
    # product Q&A (cosession/qa, SPEC 19): answers per minute, per node
    qa_buyer_answers_per_minute: int = 5  # per verified buyer (0: no limit)
    qa_tenant_answers_per_minute: int = 300  # per tenant, all its buyers together (0: no limit)
    qa_sweep_interval: float = 30.0  # seconds between retries of answers not yet in every asking room
    catalog_lookups_per_minute: int = 120  # GET /v1/catalog/lookup|search per caller per minute, per node (0: no limit)
    # help queue (SPEC 21, cosession/help): escalation of unclaimed requests, streams, claims
    help_escalate_seconds: float = 120.0  # an open request unclaimed this long escalates (again every as long)
    help_max_level: int = 3  # escalations stop at this level
    help_sweep_seconds: float = 1.0  # between escalation sweeps (0: this node sweeps nothing)
    help_heartbeat_seconds: float = 15.0  # SSE comment lines on an idle queue stream
    help_poll_seconds: float = 2.0  # a queue feed re-reads the database at least this often
    help_streams_per_associate: int = 8  # open queue streams per associate, per node
    help_claims_per_minute: int = 120  # claims and closes per associate per minute, per node (0: no limit)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/v1/ws"

    def room_limits(self) -> RoomLimits:
        return RoomLimits(max_cart_lines=self.max_cart_lines, max_chat_chars=self.max_chat_chars)

    def wire_limits(self) -> Limits:
        return Limits(
            max_frame_bytes=self.max_frame_bytes,
            ops_per_second=self.ops_per_second,
            ops_burst=self.ops_burst,
            max_members=self.max_members,
            max_chat_chars=self.max_chat_chars,
            max_cart_lines=self.max_cart_lines,
        )


ENV_PREFIX = "COSESSION_"


def from_env(base: Settings | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Overlay ``COSESSION_<FIELD>`` environment variables onto ``base``."""
    env = os.environ if environ is None else environ
    base = base or Settings()
    changes: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is None or f.name == "extra":
            continue
        current = getattr(base, f.name)
        if isinstance(current, tuple):  # a list setting: comma-separated
            changes[f.name] = tuple(part.strip() for part in raw.split(",") if part.strip())
            continue
        changes[f.name] = type(current)(raw) if not isinstance(current, bool) else raw.lower() in ("1", "true")
    return replace(base, **changes)


def resolve_secret(settings: Settings) -> Settings:
    """Use the configured secret, or one generated once and shared through the database.

    SQLite: kept in a file beside the database file (mode 0600); in-memory SQLite: one per
    process. Any other database: left empty here; the server reads (or first stores) it in
    the database at start-up (``cosession.signing.shared``), so every node agrees.
    """
    from cosession.signing.shared import is_memory_sqlite, new_secret, read_or_create_secret_file, secret_file_for

    if settings.secret:
        return settings
    path = secret_file_for(settings.database_url)
    if path is not None:
        return replace(settings, secret=read_or_create_secret_file(path))
    if is_memory_sqlite(settings.database_url):
        return replace(settings, secret=new_secret())
    return settings
