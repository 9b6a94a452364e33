"""``cosession-loadtest`` entry point: names the extra to install when the load tool's own
libraries (``cosession[loadtest]``) are missing, instead of an ImportError traceback."""

from __future__ import annotations

import sys

LOADTEST_MODULES = ("rich", "hdrh", "psutil")


def main() -> int:
    from cosession.extras import MissingExtra, require

    try:
        require(LOADTEST_MODULES, "loadtest", "cosession-loadtest")
    except MissingExtra as exc:
        print(exc, file=sys.stderr)
        return 2
    from loadtest.cli import main as cli_main

    return cli_main()
