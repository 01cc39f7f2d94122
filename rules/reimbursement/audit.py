"""Audit rules for a reimbursement claim (报销审核): plain functions from facts to findings.

Each rule takes the claim, its invoices and the standards in force, and returns findings with a code, a
severity (block stops the claim until a person fixes it, warn is shown to approvers, info is a remark),
a bilingual message and the evidence behind it. The rules know nothing of databases or the engine: the
claim worker gathers the facts, runs ``audit_claim`` and routes on the result.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rules.reimbursement.home import HOME_CODES, check_home_trip
from rules.reimbursement.places import unknown_places, with_table_cities
from rules.reimbursement.standards import Standards, StandardsError
from rules.reimbursement.trips import TripLeg, check_classes, check_trip, ticket_destination
from smartfin.kernel.findings import Finding, Severity

CENT = Decimal("0.01")
LODGING_MARKERS = ("住宿", "房费", "lodging", "hotel")
# warnings a person must look at before approval (an explained over-class ticket, tickets against the trip,
# item sums that disagree with the totals, a buyer title that is not quite the hospital's)
REVIEW_CODES = frozenset({"LOW_CONFIDENCE", "TRAVEL_CLASS_OVER_STANDARD", "TRAVEL_CLASS_UNREAD",
                          "TRIP_TICKET_OUTSIDE_DATES", "TRIP_CITIES_BROKEN", "TRIP_DESTINATION_MISMATCH",
                          "ITEMS_AMOUNT_MISMATCH", "ITEMS_TAX_MISMATCH", "ITEMS_INCOMPLETE",
                          "BUYER_NAME_MISMATCH", "BUYER_TITLE_MISSING", "TRAVEL_GRADE_UNRECORDED",
                          "TRIP_PLACE_UNKNOWN", "TICKET_OCR_LOW_CONFIDENCE"}) | HOME_CODES


@dataclass(frozen=True)
class InvoiceFacts:
    """What the rules need of one invoice (already read, possibly corrected by a person)."""

    position: int
    kind: str | None
    code: str | None
    number: str | None
    issue_date: date | None
    seller_name: str | None
    seller_tax_id: str | None
    total_with_tax: Decimal | None
    currency: str | None = "CNY"
    item_names: tuple[str, ...] = ()
    excluded: bool = False
    legs: tuple[TripLeg, ...] = ()  # the journey of a rail or air ticket

    @property
    def is_lodging(self) -> bool:
        text = " ".join(self.item_names).lower()
        return any(marker in text for marker in LODGING_MARKERS)


@dataclass(frozen=True)
class TravelFacts:
    """A business trip (差旅): where, when, who, and what the host provided."""

    destination: str
    province: str
    departed: date
    returned: date
    grade: str = "general"
    meals_provided_days: int = 0
    self_driving: bool = False
    one_way: bool = False  # the claim says the traveller did not come back by ticket

    @property
    def days(self) -> int:
        """Calendar days away, both ends counted (the basis of flat allowances)."""
        return (self.returned - self.departed).days + 1

    @property
    def nights(self) -> int:
        return max(0, (self.returned - self.departed).days)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TravelFacts:
        """From the claim's ``travel`` dict; raises ValueError naming the bad key."""
        problems = []
        try:
            departed = date.fromisoformat(str(data.get("departed", "")))
        except ValueError:
            problems.append("departed: must be a date YYYY-MM-DD")
        try:
            returned = date.fromisoformat(str(data.get("returned", "")))
        except ValueError:
            problems.append("returned: must be a date YYYY-MM-DD")
        destination = str(data.get("destination") or "").strip()
        if not destination:
            problems.append("destination: is missing")
        if problems:
            raise ValueError("travel " + "; ".join(problems))
        if returned < departed:
            raise ValueError(f"travel returned: {returned} is before departed {departed}")
        meals = int(data.get("meals_provided_days") or 0)
        if meals < 0:
            raise ValueError("travel meals_provided_days: must not be negative")
        return cls(destination=destination, province=str(data.get("province") or "").strip(), departed=departed,
                   returned=returned, grade=str(data.get("grade") or "general").strip(),
                   meals_provided_days=meals, self_driving=bool(data.get("self_driving", False)),
                   one_way=bool(data.get("one_way", False)))


@dataclass(frozen=True)
class ClaimFacts:
    """The claim as submitted: who, what for, how it is paid, what it references."""

    claim_no: str
    claimant: str
    category: str
    submitted_on: date
    payment_method: str = "transfer"  # transfer | official-card | cash
    claimed_total: Decimal | None = None
    references: dict[str, str] = field(default_factory=dict)
    travel: TravelFacts | None = None
    explanation: str = ""
    home_city: str | None = None  # the hospital's city (SMARTFIN_HOSPITAL_CITY): trips start and end there


@dataclass(frozen=True)
class Allowances:
    """Flat travel allowances (no invoice): meals and city transport."""

    meals: Decimal = Decimal("0.00")
    transport: Decimal = Decimal("0.00")

    @property
    def total(self) -> Decimal:
        return self.meals + self.transport


def _y(amount: Decimal) -> str:
    return f"¥{amount.quantize(CENT):,}"


def travel_allowances(claim: ClaimFacts, standards: Standards) -> Allowances:
    """Meals ¥/day (none on days the host provides meals) and city transport ¥/day (none self-driving)."""
    trip = claim.travel
    if trip is None:
        return Allowances()
    row = standards.allowance_for(trip.province)
    meal_days = max(0, trip.days - trip.meals_provided_days)
    transport = Decimal(0) if trip.self_driving else row.transport_per_day * trip.days
    return Allowances((row.meal_per_day * meal_days).quantize(CENT), transport.quantize(CENT))


def counted(invoices: Iterable[InvoiceFacts]) -> list[InvoiceFacts]:
    return [i for i in invoices if not i.excluded]


def invoice_total(invoices: Iterable[InvoiceFacts]) -> Decimal:
    return sum((i.total_with_tax or Decimal(0) for i in counted(invoices)), Decimal("0.00"))


# ------------------------------------------------------------------------------------------- rules

def check_claim_total(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """The amount claimed must equal the invoice totals plus the flat allowances."""
    if claim.claimed_total is None:
        return []
    allowances = travel_allowances(claim, standards)
    expected = invoice_total(invoices) + allowances.total
    if claim.claimed_total == expected:
        return []
    return [Finding(
        "CLAIM_TOTAL_MISMATCH", Severity.BLOCK,
        f"报销金额 {_y(claim.claimed_total)} 与发票合计加补助 {_y(expected)} 不符 / claimed "
        f"{claim.claimed_total} but invoices plus allowances come to {expected}",
        evidence={"claimed": claim.claimed_total, "invoices": invoice_total(invoices), "allowances": allowances.total},
        field="claimed_total")]


def check_cash_limit(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """Payments above the cash limit go by bank transfer or official card, never cash."""
    if claim.payment_method != "cash":
        return []
    limit = standards.limit("cash_limit")
    total = invoice_total(invoices) + travel_allowances(claim, standards).total
    if total <= limit:
        return []
    return [Finding(
        "CASH_LIMIT_EXCEEDED", Severity.BLOCK,
        f"现金支付 {_y(total)} 超过限额 {_y(limit)}，请改为转账或公务卡 / cash payment of {total} exceeds the "
        f"cash limit of {limit}: pay by bank transfer or official card",
        evidence={"total": total, "limit": limit}, field="payment_method")]


def check_attachments(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """Large claims of some categories must name their contract, procurement record, asset receipt."""
    total = invoice_total(invoices)
    out = []
    for rule in standards.attachments:
        if claim.category in rule.categories and total >= rule.min_amount \
                and not (claim.references.get(rule.requirement) or "").strip():
            out.append(Finding(
                "ATTACHMENT_MISSING", Severity.BLOCK,
                f"金额 {_y(total)} 达到 {_y(rule.min_amount)}，须附{rule.label.split()[0]} / a claim of {total} "
                f"({claim.category}) from {rule.min_amount} needs: {rule.label}",
                evidence={"total": total, "threshold": rule.min_amount, "requirement": rule.requirement},
                field=rule.requirement))
    return out


def working_days_after(start: date, count: int) -> date:
    """The date ``count`` working days (Mon–Fri) after ``start``; public holidays are not modelled."""
    day = start
    left = count
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def check_deadlines(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """Claim within N days of the expense; travel within M working days of return (late claims warn)."""
    out = []
    days = int(standards.limit("claim_deadline_days"))
    dated = [i for i in counted(invoices) if i.issue_date is not None]
    if claim.travel is None and dated:
        earliest = min(i.issue_date for i in dated)  # type: ignore[type-var]
        late_by = (claim.submitted_on - earliest).days - days  # type: ignore[operator]
        if late_by > 0:
            out.append(Finding(
                "CLAIM_LATE", Severity.WARN,
                f"费用发生于 {earliest}，已超过 {days} 天报销期限 {late_by} 天 / expense of {earliest} claimed "
                f"{late_by} days after the {days}-day deadline",
                evidence={"earliest": earliest, "deadline_days": days}))
    if claim.travel is not None:
        workdays = int(standards.limit("travel_deadline_workdays"))
        due = working_days_after(claim.travel.returned, workdays)
        if claim.submitted_on > due:
            out.append(Finding(
                "TRAVEL_CLAIM_LATE", Severity.WARN,
                f"出差 {claim.travel.returned} 返回，应于 {due} 前报销 / travel ended {claim.travel.returned}: "
                f"the claim was due by {due} ({workdays} working days)", evidence={"returned": claim.travel.returned,
                                                                           "due": due}))
    return out


def check_lodging(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """Lodging per night within the cap for the grade × city × season; over it needs an explanation."""
    trip = claim.travel
    if trip is None:
        return []
    lodging = [i for i in counted(invoices) if i.is_lodging and i.total_with_tax is not None]
    if not lodging:
        return []
    nights = max(1, trip.nights)
    city = lodging_city(trip, invoices)
    try:
        cap = standards.lodging_cap(city, trip.grade, trip.departed.month)
    except StandardsError as exc:
        return [Finding("TRAVEL_GRADE_UNKNOWN", Severity.BLOCK, f"职级无法识别 / {exc}", field="grade")]
    spent = sum((i.total_with_tax for i in lodging), Decimal(0))  # type: ignore[misc]
    per_night = (spent / nights).quantize(CENT, rounding=ROUND_HALF_UP)
    if per_night <= cap:
        return []
    evidence = {"per_night": per_night, "cap": cap, "nights": nights, "city": city, "grade": trip.grade}
    if claim.explanation.strip():
        return [Finding(
            "LODGING_OVER_STANDARD", Severity.WARN,
            f"住宿每晚 {_y(per_night)} 超过标准 {_y(cap)}，已附说明，需审批人确认 / lodging {per_night} per night "
            f"exceeds the cap of {cap}; explained, approvers decide", evidence=evidence, field="explanation")]
    return [Finding(
        "LODGING_OVER_STANDARD", Severity.BLOCK,
        f"住宿每晚 {_y(per_night)} 超过标准 {_y(cap)}，须书面说明 / lodging {per_night} per night exceeds the cap "
        f"of {cap} for {trip.grade} in {city}: a written explanation is required",
        evidence=evidence, field="explanation")]


def trip_legs(invoices: Iterable[InvoiceFacts]) -> list[TripLeg]:
    """The legs of every counted ticket of the claim, their cities from the station and airport tables."""
    return [with_table_cities(leg) for invoice in counted(invoices) for leg in invoice.legs]


def check_trip_places(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """Every station and airport of the tickets is in the tables (else its city is a guess: review)."""
    return unknown_places(trip_legs(invoices))


def lodging_city(trip: TravelFacts, invoices: Sequence[InvoiceFacts]) -> str:
    """The city lodging is capped for: where the tickets went, else the destination typed on the claim."""
    return ticket_destination(trip_legs(invoices)) or trip.destination


def check_travel_class(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """Seat and cabin classes of the tickets within the grade recorded on the claim (central travel rules)."""
    legs = trip_legs(invoices)
    if claim.travel is None or not legs:
        return []
    grade = claim.travel.grade
    try:
        standards.allowed_classes(grade, "rail")
    except StandardsError as exc:
        return [Finding("TRAVEL_GRADE_UNKNOWN", Severity.BLOCK, f"职级无法识别 / {exc}", field="grade")]
    return check_classes(legs, grade, lambda mode: standards.allowed_classes(grade, mode), claim.explanation)


def check_trip_tickets(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """The claimed trip's dates and destination agree with its tickets, and the tickets chain."""
    trip = claim.travel
    legs = trip_legs(invoices)
    if trip is None or not legs:
        return []
    return check_trip(legs, trip.departed, trip.returned, trip.destination)


def check_trip_home(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """The tickets leave from the hospital's city and come back to it (one-way trips where the claim says so)."""
    if claim.travel is None:
        return []
    return check_home_trip(trip_legs(invoices), claim.home_city, one_way=claim.travel.one_way)


def check_currency(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """Foreign-currency invoices need the exchange rate of the payment day (finance converts by hand)."""
    return [Finding(
        "FOREIGN_CURRENCY", Severity.WARN,
        f"第 {i.position + 1} 张发票币种 {i.currency}，需按付款日汇率折算 / invoice {i.position + 1} is in "
        f"{i.currency}: convert at the payment day's rate", evidence={"currency": i.currency},
        invoice=i.position, field="currency")
        for i in counted(invoices) if i.currency and i.currency != "CNY"]


def check_has_invoices(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """A claim pays against documents: at least one invoice must be counted (travel allowances aside)."""
    if counted(invoices) or claim.travel is not None:
        return []
    return [Finding("NO_INVOICES", Severity.BLOCK,
                         "报销单没有可报销的发票 / the claim has no invoice left to pay against")]


ClaimRule = Callable[[ClaimFacts, Sequence[InvoiceFacts], Standards], list[Finding]]
RULES: tuple[ClaimRule, ...] = (check_has_invoices, check_claim_total, check_cash_limit, check_attachments,
                                check_deadlines, check_lodging, check_currency, check_travel_class,
                                check_trip_tickets, check_trip_home, check_trip_places)


def audit_claim(claim: ClaimFacts, invoices: Sequence[InvoiceFacts], standards: Standards) -> list[Finding]:
    """Every claim-level rule, in order; invoice-level findings come from extraction and duplicates."""
    findings: list[Finding] = []
    for rule in RULES:
        findings += rule(claim, invoices, standards)
    return findings


def needs_review(findings: Iterable[Finding]) -> bool:
    """A person must look: a blocking finding, or a field read with low confidence."""
    return any(f.severity is Severity.BLOCK or f.code in REVIEW_CODES for f in findings)


def audit_sampled(draw_key: str, percent: Decimal, *, salt: str = "smartfin-audit-sample") -> bool:
    """Reproducible random audit sampling: the same key under the same salt is always in or out.

    The draw is a keyed hash (HMAC-SHA256) of ``draw_key`` with ``salt``, read as a number in [0, 1):
    ``percent`` of all keys are drawn. The product passes the installation's secret salt
    (``SMARTFIN_AUDIT_SAMPLE_SALT``) and a key the claimant cannot choose (see
    ``smartfin.processes.reimbursement.worker.sample_key``), so nobody can tell in advance, or steer by
    picking a claim number, whether a claim is drawn; an auditor holding the salt can recompute the sample.
    """
    if percent <= 0:
        return False
    digest = hmac.new(salt.encode(), draw_key.encode(), hashlib.sha256).digest()
    draw = Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)
    return draw * 100 < percent
