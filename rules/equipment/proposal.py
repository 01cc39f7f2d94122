"""The department's equipment purchase proposal (设备购置申请), typed and validated.

A proposal arrives either as typed values (a worker building it from stored data) or as raw form
variables (strings, ints and floats from a web form or the engine). Both paths end in the same checks, and
both report *every* problem at once as (field, message) pairs, because a department filling in a long
form should not discover its mistakes one submission at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from smartfin.kernel.money import InvalidAmount, parse_amount

DEFAULT_DISCOUNT_RATE_PCT = Decimal("8")


class EquipmentClass(StrEnum):
    """Regulatory class of the device: A and B are large medical equipment needing a permit."""

    A = "A"  # 甲类大型医用设备: national permit
    B = "B"  # 乙类大型医用设备: provincial permit
    ORDINARY = "ordinary"  # 其他设备


class FundingSource(StrEnum):
    """Where the money comes from; debt is tracked because large equipment may not be bought on debt."""

    FISCAL = "fiscal"  # 财政拨款
    OWN = "own"  # 自有资金
    RESEARCH = "research"  # 科研经费
    EARMARKED = "earmarked"  # 专项资金
    DEBT = "debt"  # 贷款 / 举债


_CLASS_ALIASES: dict[str, EquipmentClass] = {
    "a": EquipmentClass.A, "甲": EquipmentClass.A, "甲类": EquipmentClass.A,
    "b": EquipmentClass.B, "乙": EquipmentClass.B, "乙类": EquipmentClass.B,
    "ordinary": EquipmentClass.ORDINARY, "other": EquipmentClass.ORDINARY, "普通": EquipmentClass.ORDINARY,
    "其他": EquipmentClass.ORDINARY, "一般": EquipmentClass.ORDINARY,
}

_FUNDING_ALIASES: dict[str, FundingSource] = {
    "fiscal": FundingSource.FISCAL, "财政": FundingSource.FISCAL, "财政拨款": FundingSource.FISCAL,
    "own": FundingSource.OWN, "自有": FundingSource.OWN, "自有资金": FundingSource.OWN,
    "research": FundingSource.RESEARCH, "科研": FundingSource.RESEARCH, "科研经费": FundingSource.RESEARCH,
    "earmarked": FundingSource.EARMARKED, "专项": FundingSource.EARMARKED,
    "专项资金": FundingSource.EARMARKED,
    "debt": FundingSource.DEBT, "loan": FundingSource.DEBT, "贷款": FundingSource.DEBT,
    "举债": FundingSource.DEBT, "负债": FundingSource.DEBT,
}


@dataclass(frozen=True)
class FieldError:
    """One problem with one form field; ``message`` is bilingual (中文 / English)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ProposalInvalid(ValueError):
    """A proposal that cannot be evaluated; carries every field error so a form can show them together."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class EquipmentProposal:
    """What a department's proposal form states about a device it wants to buy.

    Money is ``Decimal`` yuan; rates are percentages (``Decimal("1")`` is 1 %) because that is how the
    form and the justification report write them. ``model`` may be blank: proposals are often written
    before the tender and must not name a brand. Construction validates and raises ``ProposalInvalid``.
    """

    device_name: str
    model: str
    equipment_class: EquipmentClass
    price: Decimal  # including accessories (含配件)
    monthly_volume: int  # expected exams per month
    price_per_exam: Decimal
    staff_count: int
    annual_cost_per_staff: Decimal
    annual_materials: Decimal
    annual_maintenance: Decimal
    annual_utilities: Decimal
    management_fee_rate_pct: Decimal  # % of the equipment's original value
    funding_source: FundingSource | None
    economic_life_years: int
    depreciation_years: int
    installation_cost: Decimal = Decimal("0")
    room_area_m2: Decimal = Decimal("0")
    room_cost_per_m2: Decimal = Decimal("0")
    room_depreciation_years: int | None = None
    annual_other_costs: Decimal = Decimal("0")
    designed_annual_capacity: int | None = None
    discount_rate_pct: Decimal = DEFAULT_DISCOUNT_RATE_PCT
    charge_codes: tuple[str, ...] = field(default_factory=tuple)  # HIS charge codes billed with the device
    permit_number: str = ""  # 配置许可证号, once granted

    def __post_init__(self) -> None:
        errors = _type_errors(self) or check_proposal_values(_as_mapping(self))
        if errors:
            raise ProposalInvalid(errors)


def _as_mapping(proposal: EquipmentProposal) -> dict[str, Any]:
    return {f.name: getattr(proposal, f.name) for f in fields(proposal)}


# ----------------------------------------------------------------------------------------------------
# field kinds, shared by the typed constructor and the form parser

_TEXT = ("device_name", "model", "permit_number")
_MONEY = ("price", "price_per_exam", "annual_cost_per_staff", "annual_materials", "annual_maintenance",
          "annual_utilities", "installation_cost", "room_cost_per_m2", "annual_other_costs")
_DECIMAL = ("room_area_m2", "management_fee_rate_pct", "discount_rate_pct")
_INTEGER = ("monthly_volume", "staff_count", "economic_life_years", "depreciation_years",
            "room_depreciation_years", "designed_annual_capacity")
_OPTIONAL_INTEGER = ("room_depreciation_years", "designed_annual_capacity")
_REQUIRED = ("device_name", "equipment_class", "price", "monthly_volume", "price_per_exam", "staff_count",
             "annual_cost_per_staff", "annual_materials", "annual_maintenance", "annual_utilities",
             "management_fee_rate_pct", "funding_source", "economic_life_years", "depreciation_years")

_REQUIRED_MSG = "必填 / is required"


def _type_errors(proposal: EquipmentProposal) -> list[FieldError]:
    """Refuse wrongly typed values given to the constructor directly (a float would already be inexact)."""
    errors: list[FieldError] = []
    for name in _MONEY + _DECIMAL:
        value = getattr(proposal, name)
        if not isinstance(value, Decimal):
            errors.append(FieldError(name, f"应为 Decimal / must be a Decimal, not {type(value).__name__}"))
    for name in _INTEGER:
        value = getattr(proposal, name)
        if value is None and name in _OPTIONAL_INTEGER:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(FieldError(name, f"应为整数 / must be an integer, not {type(value).__name__}"))
    if not isinstance(proposal.equipment_class, EquipmentClass):
        errors.append(FieldError("equipment_class", "设备类别无效 / must be A, B or ordinary"))
    if proposal.funding_source is not None and not isinstance(proposal.funding_source, FundingSource):
        errors.append(FieldError("funding_source", "资金来源无效 / unknown funding source"))
    if not isinstance(proposal.charge_codes, tuple):
        errors.append(FieldError("charge_codes", "应为元组 / must be a tuple of strings"))
    return errors


def check_proposal_values(values: Mapping[str, Any]) -> list[FieldError]:
    """Range and consistency rules on already-typed values; fields absent from ``values`` are skipped.

    Skipping absent fields lets the form parser run these rules after some fields already failed to
    parse, so the clerk still sees every range problem in the same round.
    """
    errors: list[FieldError] = []

    def has(name: str) -> bool:
        return values.get(name) is not None

    if "device_name" in values and not str(values["device_name"] or "").strip():
        errors.append(FieldError("device_name", _REQUIRED_MSG))
    if "funding_source" in values and values["funding_source"] is None:
        errors.append(FieldError("funding_source", "资金来源必填 / funding source is required"))

    for name in ("price", "price_per_exam"):
        if has(name) and values[name] <= 0:
            errors.append(FieldError(name, "必须大于零 / must be greater than zero"))
    for name in ("annual_cost_per_staff", "annual_materials", "annual_maintenance", "annual_utilities",
                 "installation_cost", "room_cost_per_m2", "annual_other_costs", "room_area_m2"):
        if has(name) and values[name] < 0:
            errors.append(FieldError(name, "不得为负数 / must not be negative"))
    for name in ("monthly_volume", "staff_count"):
        if has(name) and values[name] < 0:
            errors.append(FieldError(name, "不得为负数 / must not be negative"))
    for name in ("economic_life_years", "depreciation_years"):
        if has(name) and values[name] <= 0:
            errors.append(FieldError(name, "年限必须大于零 / must be at least one year"))
    if has("room_depreciation_years") and values["room_depreciation_years"] <= 0:
        errors.append(FieldError("room_depreciation_years", "年限必须大于零 / must be at least one year"))
    if (has("room_area_m2") and has("room_cost_per_m2") and values["room_area_m2"] > 0
            and values["room_cost_per_m2"] > 0 and not has("room_depreciation_years")):
        errors.append(FieldError("room_depreciation_years",
                                 "有专用机房时必填 / is required when a dedicated room is built"))
    if has("designed_annual_capacity") and values["designed_annual_capacity"] <= 0:
        errors.append(FieldError("designed_annual_capacity", "必须大于零 / must be greater than zero"))
    if has("management_fee_rate_pct") and not Decimal(0) <= values["management_fee_rate_pct"] <= 100:
        errors.append(FieldError("management_fee_rate_pct", "应在 0–100% 之间 / must be between 0 and 100 %"))
    if has("discount_rate_pct") and not Decimal(0) <= values["discount_rate_pct"] < 100:
        errors.append(FieldError("discount_rate_pct", "应在 0–100% 之间 / must be from 0 to below 100 %"))

    # Materials are the variable cost: an exam priced below its own materials loses money on every use.
    if (has("monthly_volume") and has("annual_materials") and has("price_per_exam")
            and values["monthly_volume"] > 0 and values["price_per_exam"] > 0):
        per_exam = values["annual_materials"] / (values["monthly_volume"] * 12)
        if values["price_per_exam"] < per_exam:
            errors.append(FieldError(
                "price_per_exam",
                f"单次收费低于单次材料成本 {per_exam:.2f} 元 / "
                f"is below the variable (materials) cost per exam of {per_exam:.2f} yuan"))
    return errors


# ----------------------------------------------------------------------------------------------------
# raw form input


def _exact_decimal(value: object) -> object:
    """Turn a form float into the decimal the clerk typed, leaving every other value as it is.

    Web forms and the engine's JSON deliver numbers as binary floats. ``Decimal(0.1)`` would carry the
    binary error (0.1000000000000000055…); ``str(0.1)`` is the shortest text that reads back as the same
    float, which for anything a person types (at most 15 significant digits) is exactly what was typed.
    """
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _parse_money(name: str, value: object) -> Decimal:
    return parse_amount(_exact_decimal(value), field=name, allow_zero=True, allow_negative=True)


def _parse_decimal(name: str, value: object) -> Decimal:
    value = _exact_decimal(value)
    if isinstance(value, bool):
        raise ValueError("应为数字 / must be a number")
    if isinstance(value, Decimal | int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", "").rstrip("%").strip())
        except InvalidOperation:
            raise ValueError("不是数字 / is not a number") from None
    else:
        raise ValueError(f"应为数字 / must be a number, not {type(value).__name__}")
    if not number.is_finite():
        raise ValueError("不是有限数 / is not a finite number")
    return number


def _parse_integer(name: str, value: object) -> int:
    number = _parse_decimal(name, value)
    if number != number.to_integral_value():
        raise ValueError("应为整数 / must be a whole number")
    return int(number)


def _parse_choice(value: object, aliases: Mapping[str, Any], what: str) -> Any:
    key = str(value).strip()
    found = aliases.get(key.lower()) or aliases.get(key)
    if found is None:
        raise ValueError(f"{what}无效 / unknown value {key!r}")
    return found


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_form(variables: Mapping[str, object]) -> tuple[dict[str, Any], list[FieldError]]:
    """Convert every known field it can and collect an error for every one it cannot."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name in _REQUIRED:
        if _is_blank(variables.get(name)):
            if name == "funding_source":
                errors.append(FieldError(name, "资金来源必填 / funding source is required"))
            else:
                errors.append(FieldError(name, _REQUIRED_MSG))

    for name, raw in variables.items():
        if _is_blank(raw):
            continue
        try:
            if name in _TEXT:
                values[name] = str(raw).strip()
            elif name in _MONEY:
                values[name] = _parse_money(name, raw)
            elif name in _DECIMAL:
                values[name] = _parse_decimal(name, raw)
            elif name in _INTEGER:
                values[name] = _parse_integer(name, raw)
            elif name == "equipment_class":
                values[name] = _parse_choice(raw, _CLASS_ALIASES, "设备类别")
            elif name == "funding_source":
                values[name] = _parse_choice(raw, _FUNDING_ALIASES, "资金来源")
            elif name == "charge_codes":
                items = raw.split(",") if isinstance(raw, str) else list(raw)  # type: ignore[call-overload]
                values[name] = tuple(str(c).strip() for c in items if str(c).strip())
        except InvalidAmount as exc:
            errors.append(FieldError(name, f"金额无效 / {exc.reason}"))
        except (ValueError, TypeError) as exc:
            errors.append(FieldError(name, str(exc)))

    errors.extend(check_proposal_values(values))
    values.setdefault("model", "")
    return values, errors


def validate_form_variables(variables: Mapping[str, object]) -> list[FieldError]:
    """Every problem in raw proposal form input; an empty list means ``proposal_from_form`` will succeed."""
    return _parse_form(variables)[1]


def proposal_from_form(variables: Mapping[str, object]) -> EquipmentProposal:
    """Build a proposal from raw form variables, raising ``ProposalInvalid`` with all field errors."""
    values, errors = _parse_form(variables)
    if errors:
        raise ProposalInvalid(errors)
    known = {f.name for f in fields(EquipmentProposal)}
    return EquipmentProposal(**{k: v for k, v in values.items() if k in known})
