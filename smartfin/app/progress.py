"""Progress on the long steps of the command line (engine build, imports, reconciliation runs, reports).

A person at a terminal sees a ``rich`` spinner with the step and its latest message on stderr; a script, a pipe,
a CI log or a ``--json`` run sees nothing of it, so their output stays exactly what the command prints. Whether a
person watches is decided by stdout being a terminal, the one stream such callers redirect.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console


def watched() -> bool:
    """Whether a person is watching: stdout is a terminal (not a pipe, a file or a test runner's buffer)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def _console() -> Console:
    return Console(stderr=True)


def _nothing(_message: str) -> None:
    return None


@contextmanager
def working(step: str, *, quiet: bool = False,
            unwatched: Callable[[str], None] | None = None) -> Iterator[Callable[[str], None]]:
    """Show ``step`` with a spinner while the block runs; yields the function that reports the step's messages.

    Watched, each message is printed above the spinner and becomes its text. ``quiet`` (a ``--json`` run) or an
    unwatched stdout shows no spinner; messages then go to ``unwatched`` (a command whose steps belong in a log,
    such as ``up``, passes a plain stderr line) or nowhere.
    """
    if quiet or not watched():
        yield unwatched or _nothing
        return
    console = _console()
    with console.status(step) as status:
        def show(message: str) -> None:
            console.print(f"  {message}", highlight=False, markup=False)
            status.update(f"{step} — {message}")

        yield show
