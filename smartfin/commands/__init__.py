"""Command groups of the ``smartfin`` CLI, one module per business area.

Each module here defines ``register(app: typer.Typer) -> None`` and adds its commands; the CLI calls
every one at start, so a new business area adds a module, not lines in ``smartfin.cli``.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(app)
