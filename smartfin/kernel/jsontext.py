"""The one way a command prints JSON (``--json``): money exact, dates ISO, times on the hospital's clock.

``json.dumps`` refuses a Decimal and a date, and ``default=str`` would print a datetime with a space and a
float with its binary noise. Here a Decimal is written as its exact digits in a string (money with two
places, ``"1234.50"``, as every other SmartFin JSON carries it), a date as ``2026-03-01``, an aware time as
ISO 8601 in the hospital's time zone, enums by value, sets and tuples as lists, dataclasses as objects.
A float is refused: by the time it arrives the fen may already be lost. Chinese is written as it is.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.kernel.money import CENT, format_yuan


def _exact(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number and has no JSON form")
    return format_yuan(value) if value == value.quantize(CENT) else format(value, "f")


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return _exact(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"the time {value.isoformat()} has no time zone, so its hour is unknown")
        return value.astimezone(HOSPITAL_TZ).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    raise TypeError(f"a {type(value).__name__} has no JSON form here")


def _refuse_floats(value: Any, where: str) -> None:
    if isinstance(value, float):
        raise TypeError(f"{where}: a float cannot be printed as JSON here (pass a Decimal: the fen may be lost)")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_floats(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{where}[{index}]")


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """``value`` as the JSON document a ``--json`` option prints (see the module docstring)."""
    _refuse_floats(value, "$")
    return json.dumps(value, ensure_ascii=False, indent=indent, default=_default)
