"""Every case of protocol/vectors/session.json, run against the Python session."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cosession_client.session import Session
from protocol.vectors import VECTORS_DIR
from protocol.vectors.session_json import after_json, draws, feed, output_json, settings_from_json

CASES: list[dict[str, Any]] = json.loads((VECTORS_DIR / "session.json").read_text(encoding="utf-8"))


def test_case_names_are_unique() -> None:
    names = [case["name"] for case in CASES]
    assert names and len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_session_vector(case: dict[str, Any]) -> None:
    rand = list(case["random"])
    session = Session(settings_from_json(case["settings"]), draws(rand))
    for i, step in enumerate(case["steps"]):
        out = [output_json(o) for o in feed(session, step["in"])]
        assert out == step["out"], f"step {i}: {step['in']}"
        assert after_json(session) == step["after"], f"step {i}: {step['in']}"
    with pytest.raises(StopIteration):
        session.random()  # every draw the case supplies was taken


def test_every_close_code_of_spec_section_10_has_a_case() -> None:
    spec = (VECTORS_DIR.parent / "SPEC.md").read_text(encoding="utf-8")
    table = spec.split("## 10. Close codes", 1)[1].split("\n## ", 1)[0]
    codes = {int(line.split("|")[1]) for line in table.splitlines() if line.startswith("| ") and line[2:6].isdigit()}
    covered = {
        int(c["name"].split("/")[1].split("-")[0])
        for c in CASES
        if c["name"].startswith("close/") and c["name"][6].isdigit()
    }
    assert codes and codes == covered
