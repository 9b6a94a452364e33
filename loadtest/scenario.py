"""Scenarios as code: ``Shopper`` behaviours with weighted ``@task`` methods and think times.

A scenario file is a Python module that defines ``Shopper`` subclasses (and optionally a
``scenario = Scenario(...)`` with defaults: rooms, members, duration, SLOs …)::

    from loadtest import Scenario, Shopper, task

    class Browser(Shopper):
        think_time = (1.0, 3.0)       # seconds between two tasks (uniform)

        @task(5)
        async def look(self) -> None:
            await self.client.set_focus(self.product())

        @task(1)
        async def buy(self) -> None:
            await self.client.add_to_cart(self.product(stamped=True))

    scenario = Scenario(name="browse", shoppers=[Browser], rooms=10, members=8, slos=["op_ack.p99 < 50ms"])

Each member of a room runs one shopper: the first ``fixed`` members of each room get the
classes that ask for a fixed count (in declaration order), the rest are shared out by
``weight``. A shopper runs ``on_start``, then picks tasks at random by weight until the
run ends (think time after each), then ``on_stop``. ``self.client`` is the member's live
``RoomClient``; exceptions a task raises are counted (rejected ops by their error code)
and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import random
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypeVar, overload

from cosession_client.client import RoomClient
from loadtest.stamps import stamped_text, stamped_url
from protocol.messages import Product

if TYPE_CHECKING:  # the meter needs the [loadtest] extra (hdrh): `cosession-loadtest list` must not
    from loadtest.meter import Meter

TaskFn = Callable[[Any], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Any])

_TASK_ATTR: Final = "_loadtest_weight"


class ScenarioError(Exception):
    """A scenario cannot be loaded or is inconsistent (a usage error: exit code 2)."""


def _mark(fn: F, weight: float) -> F:
    if not inspect.iscoroutinefunction(fn):
        raise ScenarioError(f"@task {fn.__qualname__} must be an async def")
    setattr(fn, _TASK_ATTR, weight)
    return fn


@overload
def task(weight: F) -> F: ...


@overload
def task(weight: float = 1.0) -> Callable[[F], F]: ...


def task(weight: float | F = 1.0) -> F | Callable[[F], F]:
    """Mark an ``async def`` method of a ``Shopper`` as a task: ``@task`` or ``@task(3)``."""
    if callable(weight):
        return _mark(weight, 1.0)
    w = float(weight)
    if w < 0:
        raise ScenarioError("a task weight must be >= 0")

    def mark(fn: F) -> F:
        return _mark(fn, w)

    return mark


@dataclass(frozen=True)
class RoomInfo:
    """The member's room as the load tool set it up."""

    index: int  # 0 … rooms-1
    id: str
    size: int  # members per room
    member_index: int  # this member's index in the room (0 is the owner)
    http_url: str  # the node this member talks to
    node: int = 0  # that node's index in the run's URLs


@dataclass
class RunInfo:
    """Run-wide settings a shopper may read (CLI flags over the scenario's defaults)."""

    duration: float
    op_rate: float  # ops per member per second the scenario should aim for (0: as fast as possible)
    payload_bytes: int
    params: dict[str, str]
    deadline: float  # loop.time() at which the run stops


CATALOG: Final = tuple(
    Product(
        id=f"sku-{i:03d}",
        name=f"Product {i}",
        price=199 + 100 * i,
        currency="EUR",
        url=f"https://shop.example/p/sku-{i:03d}",
        variant=None if i % 3 else "M",
    )
    for i in range(60)
)


class Shopper:
    """One member's behaviour. Subclass it; see the module docstring."""

    weight: ClassVar[float] = 1.0  # share of the room's members (after the fixed ones)
    fixed: ClassVar[int] = 0  # exactly this many members per room run this class
    think_time: ClassVar[tuple[float, float] | None] = (1.0, 3.0)  # after each task; None: from --op-rate
    window: ClassVar[int] = 64  # ops in flight at most with fire()

    _tasks: ClassVar[list[tuple[TaskFn, float]]] = []

    def __init__(self, client: RoomClient, room: RoomInfo, run: RunInfo, rng: random.Random) -> None:
        self.client = client
        self.room = room
        self.run = run
        self.rng = rng
        self.params = run.params
        self._inflight: set[asyncio.Task[Any]] = set()
        self._window = asyncio.Semaphore(max(1, self.window))
        self.on_error: Callable[[BaseException], None] = lambda exc: None
        from loadtest.meter import Meter  # imported here: see the TYPE_CHECKING import above

        self.meter: Meter = Meter(-1)  # the worker's meter once running (scenario-specific counters, histograms)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tasks: dict[str, tuple[TaskFn, float]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                weight = getattr(value, _TASK_ATTR, None)
                if weight is not None:
                    tasks[name] = (value, float(weight))
        cls._tasks = [t for t in tasks.values() if t[1] > 0]

    # ---- hooks -------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Called once joined, before the first task."""

    async def on_stop(self) -> None:
        """Called when the run ends (bounded by a few seconds)."""

    # ---- helpers -----------------------------------------------------------------------

    @property
    def time_left(self) -> float:
        return max(0.0, self.run.deadline - asyncio.get_running_loop().time())

    async def think(self, low: float | None = None, high: float | None = None) -> None:
        """Sleep a uniform random time in [low, high]. Default: the class's ``think_time``,
        or, when that is None, bounds whose mean paces ``--op-rate`` tasks per second."""
        if low is None:
            low, high = self.think_time if self.think_time is not None else self.think_for_rate()
        high = low if high is None else high
        delay = self.rng.uniform(low, high) if high > low else low
        await asyncio.sleep(min(delay, self.time_left))

    def think_for_rate(self) -> tuple[float, float]:
        """Think-time bounds whose mean gives ``run.op_rate`` tasks per second."""
        rate = self.run.op_rate
        if rate <= 0:
            return (0.0, 0.0)
        mean = 1.0 / rate
        return (0.5 * mean, 1.5 * mean)

    def product(self, *, stamped: bool = False) -> Product:
        """A product from a fixed catalog of 60 (so cart adds merge). ``stamped``: its url
        carries the send time, so receivers measure op→delivery on the cart.add event."""
        item = self.rng.choice(CATALOG)
        if not stamped:
            return item
        return Product(
            id=item.id,
            name=item.name,
            price=item.price,
            currency=item.currency,
            url=stamped_url(item.url or "", node=self.room.node),
            variant=item.variant,
        )

    def chat_text(self, size: int | None = None) -> str:
        """A chat text of ``size`` characters (default ``--payload-bytes``) carrying the send time."""
        return stamped_text(self.run.payload_bytes if size is None else size, node=self.room.node)

    async def fire(self, op: Coroutine[Any, Any, Any]) -> None:
        """Run ``op`` (e.g. ``self.client.chat(...)``) in the background, keeping at most
        ``window`` in flight: waits for a free slot first. For open-loop senders."""
        await self._window.acquire()
        job = asyncio.create_task(op)
        self._inflight.add(job)
        job.add_done_callback(self._fired_done)

    def _fired_done(self, job: asyncio.Task[Any]) -> None:
        self._inflight.discard(job)
        self._window.release()
        if not job.cancelled() and (exc := job.exception()) is not None:
            self.on_error(exc)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for ops started with ``fire`` to finish."""
        if self._inflight:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*self._inflight, return_exceptions=True)
            for job in list(self._inflight):
                job.cancel()

    def pick_task(self) -> TaskFn | None:
        tasks = type(self)._tasks
        if not tasks:
            return None
        if len(tasks) == 1:
            return tasks[0][0]
        return self.rng.choices([t[0] for t in tasks], weights=[t[1] for t in tasks])[0]


@dataclass
class Scenario:
    """A named set of shopper classes with default run settings (CLI flags override them)."""

    name: str
    shoppers: Sequence[type[Shopper]]
    description: str = ""
    rooms: int = 1
    members: int = 5
    duration: float = 30.0
    ramp: float = 0.0
    arrival_rate: float | None = None
    op_rate: float = 0.5
    payload_bytes: int = 100
    format: Literal["msgpack", "json"] = "msgpack"
    slos: list[str] = field(default_factory=list)
    storms: list[float | str] = field(default_factory=list)  # s after start, or "60%" of duration: drop all
    fanout_check: str | None = None  # op kind whose deliveries must equal acked x members
    params: dict[str, str] = field(default_factory=dict)
    # run once by the controller before the rooms are made: (params, node URLs, the spawned
    # cluster's database URL or None, rooms) -> params to add (``room_key``: rooms are
    # created with that tenant key)
    prepare: Callable[[dict[str, str], list[str], str | None, int], Awaitable[dict[str, str]]] | None = None

    def check(self) -> None:
        if not self.shoppers:
            raise ScenarioError(f"scenario {self.name!r} defines no Shopper class")
        for cls in self.shoppers:
            if not (isinstance(cls, type) and issubclass(cls, Shopper)):
                raise ScenarioError(f"{cls!r} is not a Shopper subclass")
            if cls.fixed < 0 or cls.weight < 0:
                raise ScenarioError(f"{cls.__name__}: weight and fixed must be >= 0")
        if not any(cls.weight > 0 for cls in self.shoppers) and sum(c.fixed for c in self.shoppers) == 0:
            raise ScenarioError(f"scenario {self.name!r}: every shopper has weight 0 and no fixed count")

    def shopper_named(self, name: str) -> type[Shopper]:
        for cls in self.shoppers:
            if cls.__name__ == name:
                return cls
        raise ScenarioError(f"scenario {self.name!r} has no shopper {name!r}")

    def assign(self, members: int) -> list[type[Shopper]]:
        """Shopper class for each member index of a room (deterministic)."""
        out: list[type[Shopper]] = []
        for cls in self.shoppers:
            out.extend([cls] * cls.fixed)
        out = out[:members]
        rest = members - len(out)
        weighted = [cls for cls in self.shoppers if cls.weight > 0]
        if rest > 0:
            if not weighted:
                raise ScenarioError(f"scenario {self.name!r}: {rest} members left for no weighted shopper")
            total = sum(cls.weight for cls in weighted)
            shares = [rest * cls.weight / total for cls in weighted]
            counts = [int(s) for s in shares]
            # largest remainders get the members left over
            order = sorted(range(len(weighted)), key=lambda i: shares[i] - counts[i], reverse=True)
            for i in order[: rest - sum(counts)]:
                counts[i] += 1
            # interleave the weighted classes so a small room still gets a mix
            pools = [[cls] * n for cls, n in zip(weighted, counts, strict=True)]
            while any(pools):
                for pool in pools:
                    if pool:
                        out.append(pool.pop())
        return out


# ---- loading -------------------------------------------------------------------------


def load_scenario(ref: str, params: dict[str, str] | None = None) -> Scenario:
    """A built-in name, a ``.py`` file or a ``.toml`` file. Raises ``ScenarioError``."""
    params = dict(params or {})
    path = Path(ref)
    if ref.endswith(".toml"):
        from loadtest.declarative import load_toml

        scenario = load_toml(path, params)
    elif ref.endswith(".py"):
        scenario = _load_python(path, params)
    else:
        from loadtest.builtin import BUILTINS

        factory = BUILTINS.get(ref)
        if factory is None:
            raise ScenarioError(f"unknown scenario {ref!r}: not a built-in ({', '.join(BUILTINS)}), .py or .toml file")
        scenario = factory(params)
    scenario.params = {**scenario.params, **params}
    scenario.check()
    return scenario


def _load_python(path: Path, params: dict[str, str]) -> Scenario:
    if not path.is_file():
        raise ScenarioError(f"scenario file not found: {path}")
    name = f"loadtest_scenario_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ScenarioError:
        raise
    except Exception as exc:
        raise ScenarioError(f"{path}: {type(exc).__name__}: {exc}") from exc
    declared = getattr(module, "scenario", None)
    if callable(declared) and not isinstance(declared, Scenario):
        declared = declared(params)
    if isinstance(declared, Scenario):
        return declared
    if declared is not None:
        raise ScenarioError(f"{path}: `scenario` must be a Scenario (or a function of params returning one)")
    shoppers = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Shopper) and obj.__module__ == name
    ]
    return Scenario(name=path.stem, shoppers=shoppers, description=(module.__doc__ or "").strip().split("\n")[0])
