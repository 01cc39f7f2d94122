"""Errors a statement upload can raise, each naming the file and, where known, the row and column.

A clerk fixing an upload needs to know *where* it is wrong, so every problem carries its location; a file
with several bad rows reports them together instead of one per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatementProblem:
    """One thing wrong with an input file, located as precisely as the format allows."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class StatementError(ValueError):
    """A statement that cannot be accepted; ``problems`` lists every located reason."""

    def __init__(self, problems: list[StatementProblem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(shown + more)

    @classmethod
    def single(cls, file: str, message: str, row: int | None = None,
               column: str | None = None) -> StatementError:
        return cls([StatementProblem(file, message, row, column)])


class MissingColumns(StatementError):
    """Canonical columns the column map could not find among the file's headers."""


class CurrencyMismatch(StatementError):
    """Lines in a currency other than the account's."""


class NoStatementData(StatementError):
    """The file (or the day) holds no statement lines: an explicit outcome, never an empty success."""


class DuplicateStatement(StatementError):
    """The same statement (same fingerprint) was imported before."""


class OverlappingStatement(StatementError):
    """The statement's date range overlaps an earlier statement of the same account."""
