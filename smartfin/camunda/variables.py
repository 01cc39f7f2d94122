"""Typed process variables: the one place where Python values become engine variables and back.

The raw client sends dicts untyped (the engine cannot store them) and mistakes any business dict with a
``"value"`` key for an already-typed variable. Here every value is typed explicitly: structured values
as ``Json``, money as exact decimal strings, timestamps as ``Date`` with their offset. Floats are
refused for anything that looks like money by refusing floats altogether at this border.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

CAMUNDA_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class VariableTypeError(TypeError):
    """A value that has no safe engine representation (floats, arbitrary objects)."""


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise VariableTypeError(f"cannot store {type(value).__name__} inside a Json variable")


def _reject_floats(value: object, name: str) -> None:
    if isinstance(value, float):
        raise VariableTypeError(f"variable {name!r} holds a float; send money and measures as Decimal")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_floats(item, f"{name}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _reject_floats(item, f"{name}[{index}]")


def format_date(value: datetime) -> str:
    """The engine's Date wire format (``yyyy-MM-dd'T'HH:mm:ss.SSSZ``); naive datetimes are refused."""
    if value.tzinfo is None:
        raise VariableTypeError("datetime variables must carry a time zone")
    text = value.strftime(CAMUNDA_DATE_FORMAT)[:-3]
    return text + value.strftime("%z")


def encode_value(name: str, value: Any) -> dict[str, Any]:
    """One Python value as a typed engine variable ``{"value": …, "type": …}``."""
    if value is None:
        return {"value": None, "type": "Null"}
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean"}
    if isinstance(value, int):
        kind = "Integer" if INT_MIN <= value <= INT_MAX else "Long"
        return {"value": value, "type": kind}
    if isinstance(value, Decimal):
        return {"value": str(value), "type": "String"}
    if isinstance(value, str):
        return {"value": value, "type": "String"}
    if isinstance(value, datetime):
        return {"value": format_date(value), "type": "Date"}
    if isinstance(value, date):
        return {"value": value.isoformat(), "type": "String"}
    if isinstance(value, dict | list | tuple):
        _reject_floats(value, name)
        return {
            "value": json.dumps(value, default=_json_default, ensure_ascii=False),
            "type": "Json",
            "valueInfo": {},
        }
    if isinstance(value, float):
        raise VariableTypeError(f"variable {name!r} is a float; send money and measures as Decimal")
    raise VariableTypeError(f"variable {name!r} has unsupported type {type(value).__name__}")


def encode_variables(values: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A dict of Python values as the engine's ``variables`` map."""
    return {name: encode_value(name, value) for name, value in (values or {}).items()}


def decode_value(variable: dict[str, Any]) -> Any:
    """An engine variable back to Python: Json parsed, everything else as the engine sent it."""
    kind = variable.get("type")
    value = variable.get("value")
    if kind == "Json" and isinstance(value, str):
        return json.loads(value)
    return value


def decode_variables(variables: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """The engine's variables map as plain Python values."""
    return {name: decode_value(variable) for name, variable in (variables or {}).items()}
