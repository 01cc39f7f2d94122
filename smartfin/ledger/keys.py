"""What identifies a budget line, and the small vocabularies the ledger speaks.

A line is fiscal year × department (cost centre) × economic classification (部门支出经济分类) ×
funding source × project. Keys arrive from forms, process variables and spreadsheets, so they are
validated once, here, with an error that names the offending part.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from smartfin.ledger.errors import InvalidBudgetKey


class FundingSource(StrEnum):
    """资金来源: who provided the money; part of the line key."""

    FISCAL = "fiscal"          # 财政拨款
    OWN = "own"                # 自有资金
    RESEARCH = "research"      # 科研经费
    EARMARKED = "earmarked"    # 专项资金


class ControlLevel(StrEnum):
    """How hard the line stops spending: control = stop, advisory = warn, track = log only."""

    CONTROL = "control"
    ADVISORY = "advisory"
    TRACK = "track"


class LineStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Bucket(StrEnum):
    """Where an amount sits on a line; a document moves its money from bucket to bucket."""

    BUDGET = "budget"
    ADJUSTMENT = "adjustment"
    PRE_ENCUMBRANCE = "pre_encumbrance"   # request approved
    ENCUMBRANCE = "encumbrance"           # contract / order signed
    ACTUAL = "actual"                     # voucher / payment


FUNDING_SOURCE_ALIASES: dict[str, FundingSource] = {
    **{s.value: s for s in FundingSource},
    "财政": FundingSource.FISCAL, "财政拨款": FundingSource.FISCAL, "财政资金": FundingSource.FISCAL,
    "自有": FundingSource.OWN, "自有资金": FundingSource.OWN,
    "科研": FundingSource.RESEARCH, "科研经费": FundingSource.RESEARCH, "科研资金": FundingSource.RESEARCH,
    "专项": FundingSource.EARMARKED, "专项资金": FundingSource.EARMARKED, "专项经费": FundingSource.EARMARKED,
}

CONTROL_LEVEL_ALIASES: dict[str, ControlLevel] = {
    **{c.value: c for c in ControlLevel},
    "stop": ControlLevel.CONTROL, "控制": ControlLevel.CONTROL, "刚性控制": ControlLevel.CONTROL,
    "warn": ControlLevel.ADVISORY, "提示": ControlLevel.ADVISORY, "预警": ControlLevel.ADVISORY,
    "柔性控制": ControlLevel.ADVISORY,
    "log": ControlLevel.TRACK, "跟踪": ControlLevel.TRACK, "记录": ControlLevel.TRACK,
}

_ECONOMIC_CODE = re.compile(r"^\d{3,10}$")
_CODE_TEXT = re.compile(r"^[^\s/]+(?: [^\s/]+)*$")


def is_code_text(text: str) -> bool:
    """Whether ``text`` can be a department or project code: no '/' (it separates the parts of a key in
    messages) and no line breaks — the one rule for budget keys and department master data."""
    return bool(_CODE_TEXT.match(text))


def _clean(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


def parse_funding_source(value: object) -> FundingSource:
    """``fiscal``/``财政`` … to the enum; the error lists what is accepted."""
    text = _clean(value).lower()
    if not text:
        raise InvalidBudgetKey("funding_source", "is missing")
    try:
        return FUNDING_SOURCE_ALIASES[text]
    except KeyError:
        allowed = ", ".join(s.value for s in FundingSource)
        raise InvalidBudgetKey("funding_source", f"is unknown (use one of {allowed} / 财政, 自有, 科研, 专项)",
                               value) from None


def parse_control_level(value: object) -> ControlLevel:
    """``control``/``advisory``/``track`` (or 控制/预警/跟踪) to the enum."""
    text = _clean(value).lower()
    try:
        return CONTROL_LEVEL_ALIASES[text]
    except KeyError:
        raise ValueError(f"control_level is unknown: {value!r} (use control, advisory or track)") from None


@dataclass(frozen=True, slots=True)
class BudgetLineKey:
    """The five parts that identify one budget line; validated and normalised on construction."""

    fiscal_year: int
    department: str
    economic_code: str
    funding_source: FundingSource
    project: str = ""

    def __post_init__(self) -> None:
        year = self.fiscal_year
        if isinstance(year, str) and year.strip().isdigit():
            year = int(year.strip())
        if isinstance(year, bool) or not isinstance(year, int):
            raise InvalidBudgetKey("fiscal_year", "must be a whole year such as 2026", self.fiscal_year)
        if not 2000 <= year <= 2100:
            raise InvalidBudgetKey("fiscal_year", "is outside 2000–2100", year)
        department = _clean(self.department)
        if not department:
            raise InvalidBudgetKey("department", "is missing")
        if not is_code_text(department):
            raise InvalidBudgetKey("department", "must not contain '/' or line breaks", department)
        economic_code = _clean(self.economic_code)
        if not economic_code:
            raise InvalidBudgetKey("economic_code", "is missing")
        if not _ECONOMIC_CODE.match(economic_code):
            raise InvalidBudgetKey("economic_code", "must be the digits of the economic classification "
                                   "(e.g. 30218)", economic_code)
        project = _clean(self.project)
        if project and not is_code_text(project):
            raise InvalidBudgetKey("project", "must not contain '/' or line breaks", project)
        object.__setattr__(self, "fiscal_year", year)
        object.__setattr__(self, "department", department)
        object.__setattr__(self, "economic_code", economic_code)
        object.__setattr__(self, "funding_source", parse_funding_source(self.funding_source))
        object.__setattr__(self, "project", project)

    def __str__(self) -> str:
        """``2026/CARD/30218/fiscal`` (``/project`` appended when there is one): used in messages."""
        parts = [str(self.fiscal_year), self.department, self.economic_code, self.funding_source.value]
        if self.project:
            parts.append(self.project)
        return "/".join(parts)


def parse_key(text: str) -> BudgetLineKey:
    """``2026/CARD/30218/fiscal[/project]``, as every message prints a line, to a key."""
    parts = [p.strip() for p in text.strip().split("/")]
    if len(parts) not in (4, 5):
        raise InvalidBudgetKey("line", "must read year/department/economic code/funding source[/project]", text)
    return BudgetLineKey(int(parts[0]) if parts[0].isdigit() else parts[0], parts[1], parts[2],  # type: ignore[arg-type]
                         parts[3], parts[4] if len(parts) == 5 else "")  # type: ignore[arg-type]
