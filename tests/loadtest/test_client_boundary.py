"""The load tool uses only the client's public API: it imports no ``_private`` name of
``cosession_client``, reaches into no private attribute of a client, and subclasses no
client class (it observes a ``RoomClient`` through ``cosession_client.observer``)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import loadtest

LOADTEST = Path(loadtest.__file__).resolve().parent
SOURCES = sorted(LOADTEST.glob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_loadtest_imports_nothing_private_from_the_client() -> None:
    found = []
    for path in SOURCES:
        client_names: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cosession_client"):
                assert node.module is not None
                found += [f"{path.name}: {node.module}" for part in node.module.split(".") if _private(part)]
                for alias in node.names:
                    client_names.add(alias.asname or alias.name)
                    if _private(alias.name):
                        found.append(f"{path.name}: {node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("cosession_client"):
                        client_names.add(alias.asname or alias.name.split(".")[0])
                        found += [f"{path.name}: {alias.name}" for part in alias.name.split(".") if _private(part)]
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                owner = ast.unparse(node.value)
                if owner.endswith("client") or owner.split(".")[0] in client_names:
                    found.append(f"{path.name}:{node.lineno}: {owner}.{node.attr}")
            elif isinstance(node, ast.ClassDef):
                for base in node.bases:
                    root = ast.unparse(base).split(".")[0]
                    if root in client_names:
                        found.append(f"{path.name}:{node.lineno}: class {node.name}({ast.unparse(base)})")
    assert found == []


def test_no_loadtest_class_derives_from_a_client_class() -> None:
    for path in SOURCES:
        if path.stem == "__main__":
            continue
        module = importlib.import_module(f"loadtest.{path.stem}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                bases = [base for base in cls.__mro__[1:] if base.__module__.startswith("cosession_client")]
                assert bases == [], (cls, bases)
