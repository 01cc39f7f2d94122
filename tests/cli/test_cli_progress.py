"""Progress is for a person at a terminal: a spinner with each step's message on stderr when stdout is a terminal,
nothing at all for a pipe, a test runner, a CI log or a --json run."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from smartfin.app import progress
from smartfin.app.progress import watched, working


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a terminal the spinner is drawn on."""
    drawn = io.StringIO()
    monkeypatch.setattr(progress, "_console", lambda: Console(file=drawn, force_terminal=True, width=100))
    return drawn


def test_a_watched_step_shows_its_messages(monkeypatch: pytest.MonkeyPatch, screen: io.StringIO) -> None:
    monkeypatch.setattr(sys, "stdout", _Terminal())
    assert watched()
    with working("导入 Importing budget.csv") as show:
        show("row 120 of 300")
    assert "row 120 of 300" in screen.getvalue()


def test_nothing_is_drawn_for_a_pipe_or_json(monkeypatch: pytest.MonkeyPatch, screen: io.StringIO) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not watched()
    logged: list[str] = []
    with working("启动 Starting", unwatched=logged.append) as show:
        show("engine healthy")
    with working("写入 Writing", quiet=True) as show:
        show("sheet 1")
    assert screen.getvalue() == "" and logged == ["engine healthy"]

    monkeypatch.setattr(sys, "stdout", _Terminal())
    with working("写入 Writing", quiet=True) as show:  # --json at a terminal: stdout stays one document
        show("sheet 1")
    assert screen.getvalue() == ""
