"""The exit codes of the ``smartfin`` command, so that a script or a scheduler can tell what happened.

A finance officer's script must tell apart "you typed it wrong" (fix the command line), "SmartFin said no"
(a business rule, a bad file, a refused export: read the message, nothing was changed) and "SmartFin broke"
(a bug: report the traceback). ``smartfin.app.cli`` maps what escapes a command onto these codes; a command
that refuses after printing its own explanation exits with ``REFUSED`` itself.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What the process exit status means; documented in the README's command section."""

    OK = 0
    INTERNAL = 1  # an unexpected error: a bug, shown with its traceback
    USAGE = 2  # the command line is wrong: unknown command or option, a missing or malformed value (typer's code)
    REFUSED = 3  # understood and refused: a business rule, bad data in a file, a file in the way, a service down
