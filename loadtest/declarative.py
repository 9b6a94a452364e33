"""Declarative scenarios: a TOML file of shoppers and weighted actions.

    name = "browse-and-chat"
    rooms = 4
    members = 8
    duration = "60s"
    ramp = "10s"
    op_rate = 0.5                  # actions per member per second (when think = "rate")
    slos = ["op_ack.p99 < 50ms", "errors < 0.1%", "gaps == 0"]

    [[shoppers]]
    name = "Browser"
    weight = 3
    think = [1.0, 3.0]             # seconds between actions; "rate" (default): from op_rate
    tasks = { focus = 6, "cart.add" = 2, chat = 1 }

    [[shoppers]]
    name = "Talker"
    weight = 1
    [[shoppers.tasks]]
    action = "chat"
    weight = 3
    size = 200                     # action argument: chat text length
    [[shoppers.tasks]]
    action = "reconnect"
    weight = 0.1

See ``docs/loadtest.md`` for every key; unknown keys are refused.
"""

from __future__ import annotations

import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from loadtest.actions import ACTIONS
from loadtest.scenario import Scenario, ScenarioError, Shopper, _mark
from loadtest.units import parse_duration

TOP_KEYS: Final = frozenset(
    {
        "name",
        "description",
        "rooms",
        "members",
        "duration",
        "ramp",
        "arrival_rate",
        "op_rate",
        "payload_bytes",
        "format",
        "slos",
        "storms",
        "fanout_check",
        "params",
        "shoppers",
    }
)
SHOPPER_KEYS: Final = frozenset({"name", "weight", "fixed", "think", "tasks"})
TASK_ARGS: Final = frozenset({"qty", "size", "keep", "seconds"})
TASK_KEYS: Final = frozenset({"action", "weight", "pause"}) | TASK_ARGS


def _unknown(where: str, data: dict[str, Any], known: frozenset[str]) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(extra)} (known: {', '.join(sorted(known))})")


def _number(where: str, value: Any, *, integer: bool = False, minimum: float = 0) -> Any:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if not ok or isinstance(value, bool) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ScenarioError(f"{where} must be {kind} >= {minimum:g}, got {value!r}")
    return value


def _duration(where: str, value: Any) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _think(where: str, value: Any) -> tuple[float, float] | None:
    if value == "rate":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (float(value), float(value))
    if isinstance(value, list) and len(value) == 2:
        low, high = (_duration(where, v) for v in value)
        if high < low:
            raise ScenarioError(f"{where}: [min, max] with max < min")
        return (low, high)
    raise ScenarioError(f'{where}: think is "rate", a number of seconds, or [min, max]')


def _make_task(action: str, args: dict[str, Any], pause: tuple[float, float] | None) -> Callable[..., Any]:
    run = ACTIONS[action]

    async def do(self: Shopper) -> None:
        await run(self, **args)
        if pause is not None:
            await self.think(*pause)

    do.__name__ = do.__qualname__ = action.replace(".", "_")
    return do


def _task_list(where: str, raw: Any) -> list[tuple[str, float, dict[str, Any], tuple[float, float] | None]]:
    out = []
    if isinstance(raw, dict):  # inline: { focus = 6, chat = 1 }
        raw = [{"action": name, "weight": weight} for name, weight in raw.items()]
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{where}.tasks: a table of action = weight, or [[...tasks]] entries")
    for i, entry in enumerate(raw):
        here = f"{where}.tasks[{i}]"
        if not isinstance(entry, dict):
            raise ScenarioError(f"{here}: expected a table")
        _unknown(here, entry, TASK_KEYS)
        action = entry.get("action")
        if action not in ACTIONS:
            raise ScenarioError(f"{here}: action must be one of {', '.join(ACTIONS)}, got {action!r}")
        weight = float(_number(f"{here}.weight", entry.get("weight", 1)))
        args = {k: v for k, v in entry.items() if k in TASK_ARGS}
        if "size" in args:
            args["size"] = int(_number(f"{here}.size", args["size"], integer=True, minimum=1))
        pause = _think(f"{here}.pause", entry["pause"]) if "pause" in entry else None
        out.append((str(action), weight, args, pause))
    return out


def _make_shopper(where: str, data: dict[str, Any]) -> type[Shopper]:
    _unknown(where, data, SHOPPER_KEYS)
    name = data.get("name", where.replace("[", "_").replace("]", ""))
    if not isinstance(name, str) or not name.isidentifier():
        raise ScenarioError(f"{where}.name must be an identifier, got {name!r}")
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": name,
        "weight": float(_number(f"{where}.weight", data.get("weight", 1))),
        "fixed": int(_number(f"{where}.fixed", data.get("fixed", 0), integer=True)),
        "think_time": _think(f"{where}.think", data.get("think", "rate")),
    }
    for i, (action, weight, args, pause) in enumerate(_task_list(where, data.get("tasks"))):
        fn: Callable[..., Awaitable[None]] = _make_task(action, args, pause)
        namespace[f"task_{i}_{fn.__name__}"] = _mark(fn, weight)
    return type(name, (Shopper,), namespace)


def load_toml(path: Path, params: dict[str, str]) -> Scenario:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    where = path.name
    _unknown(where, data, TOP_KEYS)
    raw_shoppers = data.get("shoppers")
    if not isinstance(raw_shoppers, list) or not raw_shoppers:
        raise ScenarioError(f"{where}: needs at least one [[shoppers]] table")
    shoppers = [_make_shopper(f"shoppers[{i}]", s) for i, s in enumerate(raw_shoppers)]
    names = [s.__name__ for s in shoppers]
    if len(set(names)) != len(names):
        raise ScenarioError(f"{where}: shopper names must differ: {names}")
    scenario = Scenario(name=str(data.get("name", path.stem)), shoppers=shoppers)
    scenario.description = str(data.get("description", ""))
    for key in ("rooms", "members", "payload_bytes"):
        if key in data:
            setattr(scenario, key, int(_number(f"{where}.{key}", data[key], integer=True, minimum=1)))
    for key in ("duration", "ramp"):
        if key in data:
            setattr(scenario, key, _duration(f"{where}.{key}", data[key]))
    for key in ("arrival_rate", "op_rate"):
        if key in data:
            setattr(scenario, key, float(_number(f"{where}.{key}", data[key])))
    if "format" in data:
        if data["format"] not in ("msgpack", "json"):
            raise ScenarioError(f'{where}.format: "msgpack" or "json"')
        scenario.format = data["format"]
    for key in ("slos", "storms"):
        value = data.get(key, [])
        if not isinstance(value, list):
            raise ScenarioError(f"{where}.{key} must be a list")
        setattr(scenario, key, list(value))
    if "fanout_check" in data:
        scenario.fanout_check = str(data["fanout_check"])
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise ScenarioError(f"{where}.params must be a table")
    scenario.params = {str(k): str(v) for k, v in raw_params.items()}
    return scenario
