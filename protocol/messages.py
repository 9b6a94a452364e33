"""Every message of the cosession wire protocol, one typed declaration each.

A frame is one message: a map whose ``t`` field names its type. Structs here carry the
field constraints (lengths, ranges) that the decoder enforces, so a message that decodes
is well formed. Whether it is *allowed* (role, room state) is the reducer's business.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

PROTOCOL_VERSION = 1

# ---- field types ---------------------------------------------------------------------

MemberId = Annotated[str, Meta(min_length=1, max_length=64)]
Ref = Annotated[str, Meta(min_length=1, max_length=64)]
Seq = Annotated[int, Meta(ge=0, le=2**53)]
LineId = Annotated[int, Meta(ge=1, le=2**53)]
Qty = Annotated[int, Meta(ge=1, le=999)]
Price = Annotated[int, Meta(ge=0, le=10**12)]  # minor units (cents)
Currency = Annotated[str, Meta(min_length=3, max_length=3, pattern="^[A-Z]{3}$")]  # length pins out "USD\n"
ShortText = Annotated[str, Meta(max_length=200)]
Url = Annotated[str, Meta(max_length=2048)]
RoomName = Annotated[str, Meta(min_length=1, max_length=100)]
# Chat text length is enforced against the room's configured limit (error `too_long`);
# this ceiling only bounds what the decoder will accept at all.
ChatText = Annotated[str, Meta(min_length=1, max_length=16_000)]
Emoji = Annotated[str, Meta(min_length=1, max_length=16)]
Role = Literal["owner", "member", "associate", "viewer"]
Device = Literal["phone", "tablet", "desktop", "bot", "unknown"]
VoteValue = Literal["up", "down", "clear"]
CheckoutScope = Literal["all", "mine"]
# Mentions and questions (SPEC section 16)
MAX_MENTIONS = 20
MAX_QUESTION_TO = 10
MAX_QUESTION_CHARS = 2000
Mentions = Annotated[list[MemberId], Meta(max_length=MAX_MENTIONS)]
QuestionTo = Annotated[list[MemberId], Meta(min_length=1, max_length=MAX_QUESTION_TO)]
QuestionText = Annotated[str, Meta(min_length=1, max_length=MAX_QUESTION_CHARS)]
HelpWhere = Literal["in_store", "online"]
HelpState = Literal["open", "claimed", "closed"]
HelpLevel = Annotated[int, Meta(ge=0, le=1000)]


class Product(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A product as shared in the cart, in chat, or as focus."""

    id: Annotated[str, Meta(min_length=1, max_length=128)]
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    price: Price
    currency: Currency
    image: Url | None = None
    url: Url | None = None
    variant: Annotated[str, Meta(max_length=128)] | None = None


# ---- durable op bodies (folded by the reducer) ----------------------------------------


class _Body(Struct, tag_field="t", frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


class CartAdd(_Body, tag="cart.add", frozen=True):
    product: Product
    qty: Qty = 1


class CartQty(_Body, tag="cart.qty", frozen=True):
    line: LineId
    qty: Qty


class CartRemove(_Body, tag="cart.remove", frozen=True):
    line: LineId


class Vote(_Body, tag="vote", frozen=True):
    line: LineId
    value: VoteValue


class Chat(_Body, tag="chat", frozen=True):
    text: ChatText
    product: Product | None = None
    reply_to: LineId | None = None  # id (= seq) of the message answered
    mentions: Mentions = []  # member ids named with @ (SPEC 16): each a member of the room


class React(_Body, tag="react", frozen=True):
    msg: LineId  # id (= seq) of the chat message
    emoji: Emoji
    on: bool = True


class QuestionAsk(_Body, tag="question.ask", frozen=True):
    """A question to one or more members, optionally about a product or a cart line (SPEC 16)."""

    to: QuestionTo
    text: QuestionText
    product: Product | None = None
    line: LineId | None = None


class QuestionAnswer(_Body, tag="question.answer", frozen=True):
    question: LineId  # id (= seq) of the question.ask
    text: QuestionText


class QuestionClose(_Body, tag="question.close", frozen=True):
    """The asker (or the owner) closes a question, answered or not."""

    question: LineId


class RoomRename(_Body, tag="room.rename", frozen=True):
    name: RoomName


class RoomLock(_Body, tag="room.lock", frozen=True):
    locked: bool


class MemberKick(_Body, tag="member.kick", frozen=True):
    member: MemberId


class CheckoutRequest(_Body, tag="checkout.request", frozen=True):
    """Ask the server to freeze and sign a checkout snapshot; it sequences ``checkout.start``."""

    scope: CheckoutScope


class HelpRequest(_Body, tag="help.request", frozen=True):
    """Ask the tenant's store associates for help (SPEC 21); its seq is the request id."""

    where: HelpWhere = "online"
    department: Annotated[str, Meta(max_length=100)] | None = None
    note: Annotated[str, Meta(max_length=500)] | None = None


# System bodies: produced by the server only, never accepted from a client.


class StoreContext(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The shop a room was opened in, through a store's QR code (SPEC §20)."""

    store: Annotated[str, Meta(min_length=1, max_length=64)]
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    department: Annotated[str, Meta(min_length=1, max_length=100)] | None = None


class HelpClaim(_Body, tag="help.claim", frozen=True):
    """An associate claimed the room's help request ``request`` (server op, SPEC 21)."""

    request: LineId
    associate: MemberId
    name: ShortText


class HelpEscalate(_Body, tag="help.escalate", frozen=True):
    """The request waited unclaimed past the escalation delay: its level rises (server op)."""

    request: LineId
    level: Annotated[int, Meta(ge=1, le=1000)]


class HelpClose(_Body, tag="help.close", frozen=True):
    """The request is closed by ``by`` (its requester or the associate; server op)."""

    request: LineId
    by: MemberId


class RoomCreate(_Body, tag="room.create", frozen=True):
    name: RoomName
    owner: MemberId
    owner_name: ShortText
    store: StoreContext | None = None  # opened through a store's QR code


class LogGap(_Body, tag="log.gap", frozen=True):
    """A seq whose event was lost with a cluster's Redis before any log stored it. Folds
    as a no-op; the room's epoch changed at the same time, so every client resynced."""


class MemberJoin(_Body, tag="member.join", frozen=True):
    member: MemberId
    name: ShortText
    role: Role


class RoomClose(_Body, tag="room.close", frozen=True):
    """The room is closed (by its tenant's admin API or the retention policy): every
    later op folds as a no-op (``room_closed``) and no new member may join."""

    reason: ShortText = ""


class MemberErase(_Body, tag="member.erase", frozen=True):
    """A member's personal data is erased (GDPR): name, chat text and cart authorship
    become tombstones, in the state and (rewritten by the server) in the stored log."""

    member: MemberId


class CheckoutLine(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One cart line as frozen in a checkout snapshot."""

    line: int
    product: Product
    qty: int
    price: int  # unit price as shown: the catalog's new price when it changed, else product.price
    added_by: str
    added_by_name: str
    out_of_stock: bool = False


class CheckoutStart(_Body, tag="checkout.start", frozen=True):
    """The frozen, signed checkout snapshot (server-built from ``checkout.request``;
    ``by`` is the requester). ``sig`` covers every other field (docs/checkout.md)."""

    id: Annotated[str, Meta(min_length=1, max_length=128)]
    room: str
    tenant: str
    scope: CheckoutScope
    requested_by: str
    requested_by_name: str
    lines: list[CheckoutLine]
    created_at: int
    expires_at: int
    sig: str


class CartRevalidate(_Body, tag="cart.revalidate", frozen=True):
    """A catalog re-check of one line (server only): the current price, if known, and stock."""

    line: LineId
    price: Price | None = None
    in_stock: bool = True


class CallStart(_Body, tag="call.start", frozen=True):
    """The room's call began: ``member`` joined an idle call (server event, SPEC 14)."""

    member: MemberId
    video: bool = False


class CallEnd(_Body, tag="call.end", frozen=True):
    """The last participant left the room's call (server event, SPEC 14)."""

    duration_ms: Annotated[int, Meta(ge=0, le=2**53)]


# ---- polls (SPEC section 17) ---------------------------------------------------------

MAX_POLL_OPTIONS = 6
PollQuestion = Annotated[str, Meta(min_length=1, max_length=300)]
PollLabel = Annotated[str, Meta(max_length=100)]
PollOutcome = Literal["keep_winner", "post_result"]
OptionIndex = Annotated[int, Meta(ge=0, le=MAX_POLL_OPTIONS - 1)]
Millis = Annotated[int, Meta(ge=0, le=2**53)]


class PollOption(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One choice of a poll: a cart line or a product (exactly one), with an optional label."""

    line: LineId | None = None
    product: Product | None = None
    label: PollLabel | None = None

    def __post_init__(self) -> None:
        if (self.line is None) == (self.product is None):
            raise ValueError("a poll option names exactly one of line or product")


class PollCreate(_Body, tag="poll.create", frozen=True):
    """A "which one?" poll between 2..6 options, closed by the server at ``deadline``."""

    question: PollQuestion
    options: Annotated[list[PollOption], Meta(min_length=2, max_length=MAX_POLL_OPTIONS)]
    deadline: Millis  # ms since the Unix epoch; bounds checked by the sequencer (SPEC 17.3)
    outcome: PollOutcome

    def __post_init__(self) -> None:
        lines = [o.line for o in self.options if o.line is not None]
        if len(lines) != len(set(lines)):
            raise ValueError("a cart line appears twice among the poll's options")


class PollVote(_Body, tag="poll.vote", frozen=True):
    """The sender's vote in poll ``poll`` (its id = the seq of its poll.create); null clears it."""

    poll: LineId
    option: OptionIndex | None = None


class PollClose(_Body, tag="poll.close", frozen=True):
    """Server event at the poll's deadline: the tally the server saw and the winner (SPEC 17.4)."""

    poll: LineId
    tally: Annotated[list[Annotated[int, Meta(ge=0, le=2**31)]], Meta(max_length=MAX_POLL_OPTIONS)] = []
    winner: OptionIndex | None = None


# ---- product Q&A (SPEC section 19) -----------------------------------------------------

QaText = Annotated[str, Meta(min_length=1, max_length=2000)]
QaId = Annotated[str, Meta(min_length=1, max_length=64)]


class QaAsk(_Body, tag="qa.ask", frozen=True):
    """Ask the tenant's past buyers about ``product`` (posted to its public Q&A thread)."""

    product: Product
    text: QaText


class QaAnswer(_Body, tag="qa.answer", frozen=True):
    """A verified buyer's answer on a thread this room asked on (server only)."""

    thread: QaId
    answer: QaId
    product_id: Annotated[str, Meta(min_length=1, max_length=128)]
    text: QaText
    name: ShortText  # the buyer's display name


class QaHide(_Body, tag="qa.hide", frozen=True):
    """The retailer hid an answer: it leaves the room's state (server only)."""

    answer: QaId


ClientOpBody = (
    CartAdd
    | CartQty
    | CartRemove
    | Vote
    | Chat
    | React
    | QuestionAsk
    | QuestionAnswer
    | QuestionClose
    | RoomRename
    | RoomLock
    | MemberKick
    | CheckoutRequest
    | PollCreate
    | PollVote
    | QaAsk
    | HelpRequest
)
EventBody = (
    CartAdd
    | CartQty
    | CartRemove
    | Vote
    | Chat
    | React
    | QuestionAsk
    | QuestionAnswer
    | QuestionClose
    | RoomRename
    | RoomLock
    | MemberKick
    | RoomCreate
    | MemberJoin
    | LogGap
    | RoomClose
    | MemberErase
    | CheckoutStart
    | CartRevalidate
    | CallStart
    | CallEnd
    | PollCreate
    | PollVote
    | PollClose
    | QaAsk
    | QaAnswer
    | QaHide
    | HelpRequest
    | HelpClaim
    | HelpEscalate
    | HelpClose
)

CLIENT_OP_TYPES: tuple[type[_Body], ...] = (
    CartAdd,
    CartQty,
    CartRemove,
    Vote,
    Chat,
    React,
    QuestionAsk,
    QuestionAnswer,
    QuestionClose,
    RoomRename,
    RoomLock,
    MemberKick,
    CheckoutRequest,
    PollCreate,
    PollVote,
    QaAsk,
    HelpRequest,
)
SYSTEM_OP_TYPES: tuple[type[_Body], ...] = (
    RoomCreate,
    MemberJoin,
    LogGap,
    RoomClose,
    MemberErase,
    CheckoutStart,
    CartRevalidate,
    CallStart,
    CallEnd,
    PollClose,
    QaAnswer,
    QaHide,
    HelpClaim,
    HelpEscalate,
    HelpClose,
)
# Client ops the server turns into another event body (checkout.request → checkout.start).
REQUEST_OP_TYPES: tuple[type[_Body], ...] = (CheckoutRequest,)


# ---- room state (the snapshot) --------------------------------------------------------


class MemberInfo(Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    role: Role
    kicked: bool = False
    erased: bool = False  # member.erase: name is "", and the member is kicked too


class PriceChange(Struct, frozen=True, forbid_unknown_fields=True):
    old: int  # product.price, as added
    new: int  # the catalog's current price


class CartLine(Struct, forbid_unknown_fields=True, omit_defaults=True):
    line: int  # seq of the cart.add that created it
    product: Product
    qty: int
    added_by: str
    votes: dict[str, int] = {}  # member -> +1 / -1
    price_changed: PriceChange | None = None  # set by cart.revalidate
    out_of_stock: bool = False  # set by cart.revalidate


class CheckoutRecord(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A checkout started in the room (the full snapshot is the event at ``seq``)."""

    id: str
    seq: int
    by: str
    scope: str
    ts: int
    expires_at: int
    lines: int


class ChatMessage(Struct, forbid_unknown_fields=True, omit_defaults=True):
    id: int  # seq of the chat event
    by: str
    ts: int
    text: str
    product: Product | None = None
    reply_to: int | None = None
    reactions: dict[str, list[str]] = {}  # emoji -> members, in order of reacting
    mentions: list[str] = []  # member ids the message mentions (SPEC 16)


class Answer(Struct, forbid_unknown_fields=True, omit_defaults=True):
    seq: int  # seq of the question.answer event
    by: str
    ts: int
    text: str


class Question(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A question asked in the room (SPEC 16); "answered" means ``answers`` is not empty."""

    id: int  # seq of the question.ask event
    by: str
    ts: int
    to: list[str]
    text: str
    product: Product | None = None
    line: int | None = None
    answers: list[Answer] = []
    closed: bool = False


class ActiveCall(Struct, forbid_unknown_fields=True, omit_defaults=True):
    since: int  # ts of the call.start event
    by: str  # the member who started it


class Poll(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A poll in the room (SPEC 17.2): open until its ``poll.close`` folds."""

    id: int  # seq of the poll.create
    by: str
    ts: int
    question: str
    options: list[PollOption]
    deadline: int
    outcome: str  # "keep_winner" | "post_result"
    votes: dict[str, int] = {}  # member -> option index
    closed: bool = False
    tally: list[int] = []  # votes per option, set when closed
    winner: int | None = None  # set when closed with a single most-voted option
    removed: list[int] = []  # keep_winner: the cart lines the close removed


class QaItem(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A question the room asked past buyers (``kind`` ask) or a buyer's answer (answer)."""

    id: int  # seq of its qa.ask / qa.answer event
    kind: Literal["ask", "answer"]
    ts: int
    product_id: str
    text: str
    by: str = ""  # ask: the asker; answer: ""
    product: Product | None = None  # ask: the product asked about
    thread: str = ""  # answer: the thread id
    answer: str = ""  # answer: the answer id (what qa.hide names)
    name: str = ""  # answer: the buyer's display name
    hidden: bool = False  # answer: hidden by the retailer (text and name are then "")


class HelpRequestInfo(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A help request of the room (SPEC 21): ``id`` is the seq of its ``help.request``."""

    id: int
    by: str
    ts: int
    where: HelpWhere
    state: HelpState = "open"
    department: str | None = None
    note: str | None = None
    associate: str | None = None
    associate_name: str | None = None
    level: int = 0


class RoomState(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The durable state of a room: the fold of its events from ``RoomState()``."""

    seq: int = 0
    name: str = ""
    owner: str = ""
    locked: bool = False
    closed: bool = False  # room.close: every later op is a no-op (room_closed)
    members: dict[str, MemberInfo] = {}
    cart: list[CartLine] = []
    chat: list[ChatMessage] = []
    checkouts: list[CheckoutRecord] = []  # the last CHECKOUTS_KEEP, oldest first
    call: ActiveCall | None = None  # absent: no call in progress
    polls: list[Poll] = []  # open polls and the last closed ones (SPEC 17.2), oldest first
    qa: list[QaItem] = []  # product Q&A asks and answers, id order, the last QA_KEEP
    questions: list[Question] = []  # the last QUESTIONS_KEEP, oldest first (SPEC 16)
    store: StoreContext | None = None  # the shop the room was opened in (SPEC §20)
    help: list[HelpRequestInfo] = []  # open/claimed requests and the last HELP_CLOSED_KEEP closed ones


# ---- envelopes: client -> server ------------------------------------------------------


class _Msg(Struct, tag_field="t", forbid_unknown_fields=True, omit_defaults=True):
    pass


class Resume(Struct, forbid_unknown_fields=True):
    epoch: Annotated[str, Meta(min_length=1, max_length=64)]
    seq: Seq


class Hello(_Msg, tag="hello"):
    token: Annotated[str, Meta(min_length=1, max_length=2048)]
    resume: Resume | None = None
    client: Annotated[str, Meta(max_length=64)] = "unknown"
    version: Annotated[str, Meta(max_length=32)] = ""
    device: Device = "unknown"


class Op(_Msg, tag="op"):
    ref: Ref
    op: ClientOpBody


class Focus(_Msg, tag="focus"):
    product: Product | None = None  # None clears the focus


class Typing(_Msg, tag="typing"):
    on: bool


class Follow(_Msg, tag="follow"):
    member: MemberId | None = None  # None stops following


class Ping(_Msg, tag="ping"):
    nonce: Annotated[int, Meta(ge=0, le=2**53)] = 0


# ---- calls (SPEC section 14): ephemeral, never in the log ----------------------------

MAX_SDP_CHARS = 49_152  # `max_sdp_bytes`: SDP is ASCII, so code points are bytes
MAX_CANDIDATE_CHARS = 1024
SignalKind = Literal["offer", "answer", "candidate", "bye"]
SdpText = Annotated[str, Meta(min_length=1, max_length=MAX_SDP_CHARS)]
CandidateText = Annotated[str, Meta(max_length=MAX_CANDIDATE_CHARS)]  # "" = end of candidates
SignalTarget = Annotated[str, Meta(max_length=64)]  # a member id, or "" for the server's relay
MediaId = Annotated[str, Meta(max_length=64)]
MLine = Annotated[int, Meta(ge=0, le=1023)]


def _check_signal(kind: str, sdp: str | None, candidate: str | None) -> None:
    """offer/answer carry `sdp` and no `candidate`; candidate carries `candidate` and no
    `sdp`; bye carries neither (raised inside decoding: `invalid_field`)."""
    if kind in ("offer", "answer"):
        if sdp is None or candidate is not None:
            raise ValueError(f"a {kind} carries sdp (and no candidate)")
    elif kind == "candidate":
        if candidate is None or sdp is not None:
            raise ValueError("a candidate signal carries candidate (and no sdp)")
    elif sdp is not None or candidate is not None:
        raise ValueError("bye carries neither sdp nor candidate")


class CallJoin(_Msg, tag="call.join"):
    audio: bool
    video: bool


class CallLeave(_Msg, tag="call.leave"):
    pass


class CallStateChange(_Msg, tag="call.state"):
    """Only the fields that changed; absent = unchanged."""

    muted: bool | None = None
    camera: bool | None = None
    speaking: bool | None = None


class Signal(_Msg, tag="signal"):
    to: SignalTarget
    kind: SignalKind
    sdp: SdpText | None = None
    candidate: CandidateText | None = None
    mid: MediaId | None = None
    mline: MLine | None = None

    def __post_init__(self) -> None:
        _check_signal(self.kind, self.sdp, self.candidate)


# ---- read cursors and away (SPEC section 15): per member, never in the log ------------


class Read(_Msg, tag="read"):
    """The member has seen every event up to ``seq`` (its read cursor only moves forward)."""

    seq: Seq


class Away(_Msg, tag="away"):
    """This connection is in the background (a hidden tab) or back (``on: false``)."""

    on: bool


ClientMessage = (
    Hello | Op | Focus | Typing | Follow | Ping | CallJoin | CallLeave | CallStateChange | Signal | Read | Away
)
CLIENT_MESSAGE_TYPES: frozenset[str] = frozenset(
    {"hello", "op", "focus", "typing", "follow", "ping", "call.join", "call.leave", "call.state", "signal"}
    | {"read", "away"}
)


# ---- envelopes: server -> client ------------------------------------------------------


class Event(_Msg, tag="event"):
    """A durable, sequenced event of the room's log."""

    seq: int
    ts: int  # server time, ms since the Unix epoch
    by: str  # member id, or "" for the server
    op: EventBody


class CallState(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A member's state in the room's call (presence)."""

    audio: bool
    video: bool
    muted: bool = False
    camera: bool = False  # starts equal to `video`
    speaking: bool = False
    joined: Millis = 0  # unix ms of the member's first call.join; kept on a re-join (SPEC 14.3)


class PresenceMember(Struct, forbid_unknown_fields=True, omit_defaults=True):
    member: str
    name: str
    role: Role
    device: Device = "unknown"
    connections: int = 1
    focus: Product | None = None
    following: str | None = None
    call: CallState | None = None  # absent: not in the call
    in_store: bool = False  # arrived through a store's QR code (SPEC §20); else remote
    away: bool = False  # every connection of the member is in the background (SPEC 15)


class Limits(Struct, forbid_unknown_fields=True):
    max_frame_bytes: int
    ops_per_second: float
    ops_burst: int
    max_members: int
    max_chat_chars: int
    max_cart_lines: int


class IceServer(Struct, forbid_unknown_fields=True, omit_defaults=True):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class Unread(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What happened after the member's read cursor (SPEC 15; protocol/unread.py)."""

    messages: int = 0  # chat messages by others
    cart: int = 0  # cart.add / cart.qty / cart.remove / cart.revalidate by others
    questions: int = 0  # open questions to the member (SPEC 16)
    mentions: int = 0  # chat messages after the cursor that mention the member (SPEC 16)


class Welcome(_Msg, tag="welcome"):
    room: str
    member: str
    role: Role
    epoch: str
    seq: int
    recovered: bool
    events: list[Event] = []  # when recovered: exactly the events after resume.seq
    snapshot: RoomState | None = None  # when not recovered
    presence: list[PresenceMember] = []
    limits: Limits | None = None
    ice: list[IceServer] = []
    server: str = ""
    read: int = 0  # the member's stored read cursor (SPEC 15)
    unread: Unread | None = None  # counted after ``read``; absent: nothing unread


class Ack(_Msg, tag="ack"):
    ref: str
    seq: int


class Error(_Msg, tag="error"):
    code: str
    message: str
    ref: str | None = None


class PresenceUpdate(_Msg, tag="presence"):
    kind: Literal["join", "update", "leave"]
    member: PresenceMember


class FocusSignal(_Msg, tag="focus"):
    member: str
    product: Product | None = None


class TypingSignal(_Msg, tag="typing"):
    member: str
    on: bool


class FollowSignal(_Msg, tag="follow"):
    member: str
    target: str | None = None


class Pong(_Msg, tag="pong"):
    nonce: int = 0


class SignalRelay(_Msg, tag="signal"):
    """A `signal` relayed to its addressee's call connection (`from` = "" for the relay)."""

    from_: str = msgspec.field(name="from")
    kind: SignalKind
    sdp: str | None = None
    candidate: str | None = None
    mid: str | None = None
    mline: int | None = None

    def __post_init__(self) -> None:
        _check_signal(self.kind, self.sdp, self.candidate)


class ReadSignal(_Msg, tag="read"):
    """Another connection of the same member moved its read cursor to ``seq`` (SPEC 15)."""

    seq: int


class CallInfo(_Msg, tag="call"):
    """The call's topology and participants, for call participants: sorted by their
    ``CallState.joined``, then member id, the same on every node (SPEC 14.2)."""

    mode: Literal["mesh", "relay"]
    members: list[str] = []


ServerMessage = (
    Welcome
    | Event
    | Ack
    | Error
    | PresenceUpdate
    | FocusSignal
    | TypingSignal
    | FollowSignal
    | Pong
    | SignalRelay
    | CallInfo
    | ReadSignal
)
SERVER_MESSAGE_TYPES: frozenset[str] = frozenset(
    {"welcome", "event", "ack", "error", "presence", "focus", "typing", "follow", "pong", "signal", "call", "read"}
)


def to_builtins(msg: object) -> object:
    """Plain dicts/lists of a message, as both codecs put it on the wire."""
    return msgspec.to_builtins(msg)
