"""README's quick start, run as written: its set-up block through bash from the repository
root (so `./scripts/serve` really bootstraps, builds and waits), then its two
`cosession-client join` lines as real processes driven through stdin with the commands
the README lists ("In the client: ...").

The only changes made to the README's text: port 8080 becomes a free port (the server
reads it from ``COSESSION_PORT``, `cosession room create` gets ``--server``), and the
database lives in the test's directory.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
SETUP_TIMEOUT = 180.0  # a first run installs .venv
WAIT = 15.0


def quick_start(readme: str) -> tuple[list[str], list[str], list[str]]:
    """(set-up commands, `cosession-client join` commands, client commands) of README's
    "Quick start" section, comments stripped."""
    section = readme.split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            command = re.sub(r"\s+# .*$", "", line).strip()  # as bash runs it: the comment ignored
            if command:
                commands.append(command)
    in_client = section.split("In the client:", 1)[1].split("\n\n", 1)[0]
    said = re.findall(r"`([^`]+)`", in_client)
    client = said[: said.index("quit") + 1]
    joins = [c for c in commands if "cosession-client join" in c]
    return [c for c in commands if c not in joins], joins, client


def test_quick_start_is_parsed_as_written() -> None:
    setup, joins, client = quick_start((ROOT / "README.md").read_text())
    assert setup[0].startswith("./scripts/serve") and any("cosession room create" in c for c in setup)
    assert len(joins) == 2 and client[0].startswith("add ") and client[-1] == "quit"


async def read_until(stream: asyncio.StreamReader, done: Callable[[str], bool], seen: list[str]) -> str:
    async with asyncio.timeout(WAIT):
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError(f"client exited; output so far: {seen!r}")
            line = raw.decode().rstrip("\n")
            seen.append(line)
            if done(line):
                return line


def answered(command: str) -> Callable[[str], bool]:
    """True for the line that shows ``command`` was done (or refused)."""
    verb = command.split()[0]
    signs: dict[str, Callable[[str], bool]] = {
        "add": lambda line: line.startswith("ok: "),
        "up": lambda line: " voted up on " in line,
        "down": lambda line: " voted down on " in line,
        "say": lambda line: line.endswith(": " + command.partition(" ")[2]),
        "cart": lambda line: line.strip().startswith("total: "),
        "who": lambda line: line.startswith("here: "),
    }
    sign = signs.get(verb, lambda _: True)
    return lambda line: line.startswith(("error:", "rejected:", "unknown command")) or sign(line)


async def port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def test_readme_quick_start_works_as_written(tmp_path: Path) -> None:
    setup, joins, client_commands = quick_start((ROOT / "README.md").read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    script = "\n".join(
        c + (f" --server {base}" if "cosession room create" in c and "--server" not in c else "") for c in setup
    ).replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    env = {**os.environ, "COSESSION_PORT": str(port), "COSESSION_DATABASE_URL": f"sqlite:///{tmp_path}/quick.db"}
    out_path, err_path = tmp_path / "setup.out", tmp_path / "setup.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        # a file, not a pipe: the background server keeps its output open
        shell = subprocess.Popen(
            ["bash", "-c", script], cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True
        )
    members: list[asyncio.subprocess.Process] = []
    try:
        async with asyncio.timeout(SETUP_TIMEOUT):
            while shell.poll() is None:
                await asyncio.sleep(0.1)
        printed = out_path.read_text()
        link = re.search(r"invite link: (\S+)", printed)
        assert link, f"no invite link; stdout: {printed!r}; stderr: {err_path.read_text()[-2000:]!r}"
        for join in joins:
            words = shlex.split(re.sub(r"http://127\.0\.0\.1:8080/r/\S+", link.group(1), join))
            members.append(
                await asyncio.create_subprocess_exec(
                    *words,
                    cwd=ROOT,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        seen: dict[int, list[str]] = {0: [], 1: []}
        for i, member in enumerate(members):
            assert member.stdout is not None
            await read_until(member.stdout, lambda line: line.startswith("commands:"), seen[i])
        ana, ben = members
        assert ana.stdin is not None and ana.stdout is not None and ben.stdout is not None and ben.stdin is not None
        for command in client_commands[:-1]:
            ana.stdin.write(command.encode() + b"\n")
            await ana.stdin.drain()
            await read_until(ana.stdout, answered(command), seen[0])
        refused = [line for line in seen[0] if line.startswith(("error:", "rejected:", "unknown command"))]
        assert not refused, seen[0]
        assert "ok: cart line 1" in seen[0]
        assert any("Trail shoe" in line and "89.90 EUR" in line for line in seen[0] if line.startswith("  1."))
        assert any(line.startswith("here: ") and "Ben" in line for line in seen[0])
        # everything Ana did reached Ben, in order
        await read_until(ben.stdout, lambda line: line.endswith("Ana: these?"), seen[1])
        events = [line for line in seen[1] if line.startswith("[")]
        assert [e.split("] ", 1)[1] for e in events[-3:]] == [
            "Ana added 1 x Trail shoe (89.90 EUR)",
            "Ana voted up on Trail shoe (line 1)",
            "Ana: these?",
        ], seen[1]
        for member in (ana, ben):
            assert member.stdin is not None
            member.stdin.write(b"quit\n")
            await member.stdin.drain()
            async with asyncio.timeout(WAIT):
                assert await member.wait() == 0
        # and the server stops the way README says
        stop = re.search(r"stop it with: kill (\d+)", err_path.read_text())
        assert stop, err_path.read_text()[-2000:]
        os.kill(int(stop.group(1)), signal.SIGTERM)
        async with asyncio.timeout(WAIT):
            while await port_open(port):
                await asyncio.sleep(0.1)
    finally:
        for member in members:
            if member.returncode is None:
                member.kill()
                await member.wait()
        if shell.poll() is None:
            shell.kill()
        try:
            os.killpg(shell.pid, signal.SIGTERM)  # the server the block left running
        except ProcessLookupError:
            pass
        shell.wait(timeout=WAIT)
