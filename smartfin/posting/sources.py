"""Where a voucher comes from: the project's record of a document, never the copy a process carries.

A voucher moves money. The ``voucher`` process variable is a copy for display (the rejection form shows
it) and a user who may start ``voucher-posting`` or write a variable could put anything in it, so the
posting step asks the document's *voucher source* which voucher the records justify, compares the copy
with it, and posts the recomputed voucher. A document type without a registered source is never posted
through a process.

Each business process registers the source of its document type (the reimbursement process registers
its claims) in ``smartfin.app.implementations``; the posting layer knows the registry, not the processes.
A source refuses (``VoucherRefused``) when the record does not justify a payment (not approved, nothing
reserved), with the reasons.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from smartfin.kernel.clock import hospital_today
from smartfin.ports.vouchers import InvalidVoucher, Voucher
from smartfin.posting.journal import PostingState, VoucherPosting
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

#: the process whose business key is a voucher's external reference (``documentType:documentNo``)
POSTING_PROCESS = "voucher-posting"
REFUSED_ACTION = "voucher-refused"
#: the voucher fields that may differ between the copy and the record: the booking date is the day of
#: posting (or the day a started posting chose), not a fact of the document
UNCOMPARED = frozenset({"bookedOn"})


class VoucherRefused(Exception):
    """The records do not justify posting this voucher; ``problems`` says why (中文 / English)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


#: (session, document number, booking date) → the voucher the records justify; raises VoucherRefused
VoucherSource = Callable[[Session, str, date], Voucher]


@dataclass
class VoucherSources:
    """The registry: per document type its source, and the process whose business key is its number."""

    sources: dict[str, VoucherSource] = field(default_factory=dict)
    processes: dict[str, str] = field(default_factory=dict)  # process definition key → document type

    def register(self, document_type: str, source: VoucherSource, *, process_key: str | None = None) -> None:
        """Register the one source of ``document_type``; a type registered twice is a wiring fault."""
        if document_type in self.sources:
            raise ValueError(f"voucher source for {document_type!r} is already registered")
        self.sources[document_type] = source
        if process_key is not None:
            self.processes[process_key] = document_type

    def handles(self, document_type: str) -> bool:
        return document_type in self.sources

    def document_of(self, process_key: str | None, business_key: str | None) -> tuple[str, str]:
        """The document a posting process instance is about, from its business key (never a variable).

        ``voucher-posting`` is keyed by the voucher's external reference; a document's own process (a
        claim's reimbursement) by the document number.
        """
        if not business_key:
            raise VoucherRefused(["流程实例没有业务键，无法确定单据 / the process instance has no business key: "
                                  "the document cannot be known"])
        if process_key == POSTING_PROCESS:
            document_type, _, document_no = business_key.partition(":")
            if not document_type or not document_no:
                raise VoucherRefused([f"业务键 {business_key!r} 不是 单据类型:单号 / business key {business_key!r} "
                                      "is not documentType:documentNo"])
            return document_type, document_no
        if process_key in self.processes:
            return self.processes[process_key], business_key
        raise VoucherRefused([f"流程 {process_key!r} 不能过账凭证 / process {process_key!r} does not post "
                              "vouchers"])

    def recorded(self, session: Session, document_type: str, document_no: str, booked_on: date) -> Voucher:
        """The voucher the records justify for a document; an unknown type is refused."""
        source = self.sources.get(document_type)
        if source is None:
            raise VoucherRefused([f"单据类型 {document_type!r} 没有凭证来源，不能过账 / document type "
                                  f"{document_type!r} has no voucher source: nothing of it is posted"])
        return source(session, document_no, booked_on)


def posting_date(session: Session, external_ref: str) -> date:
    """The booking date of a voucher about to be posted: the one of a posting already under way, else today.

    A posting that was started (or completed) keeps its date, so a repeated delivery after a crash, or on
    another day, posts (or finds) the very voucher the journal holds; a refused attempt starts afresh.
    """
    entry = session.get(VoucherPosting, external_ref)
    if entry is not None and entry.state != PostingState.FAILED:
        try:
            return Voucher.from_variable(json.loads(entry.voucher_json)).booked_on
        except (InvalidVoucher, ValueError):
            pass
    return hospital_today()


def voucher_differences(recorded: Voucher, copy: Any) -> list[str]:
    """How a voucher copy (the ``voucher`` variable, contract 1) differs from the recorded voucher.

    Every field of the voucher counts except the booking date: document type and number, the external
    reference, the voucher type, summary, attachments, and each financial and budget line (account,
    summary, debit, credit, in order). Amounts are compared as amounts ("10" equals "10.00").
    """
    try:
        parsed = Voucher.from_variable(copy)
    except InvalidVoucher as exc:
        return [f"凭证副本无效 / the voucher copy is invalid: {problem}" for problem in exc.problems]
    if isinstance(copy, dict) and copy.get("externalRef") not in (None, recorded.external_ref):
        return [f"externalRef: 副本为 {copy.get('externalRef')!r}，记录为 {recorded.external_ref!r} / the copy "
                f"says {copy.get('externalRef')!r}, the record says {recorded.external_ref!r}"]
    mine, theirs = recorded.as_variable(), parsed.as_variable()
    problems: list[str] = []
    for name in mine:
        if name in UNCOMPARED:
            continue
        if name in ("lines", "budgetLines"):
            problems += _line_differences(name, mine[name], theirs[name])
        elif mine[name] != theirs[name]:
            problems.append(_differs(name, theirs[name], mine[name]))
    return problems


def _line_differences(name: str, mine: list[dict[str, str]], theirs: list[dict[str, str]]) -> list[str]:
    if len(mine) != len(theirs):
        return [f"{name}: 副本 {len(theirs)} 行，记录 {len(mine)} 行 / the copy has {len(theirs)} lines, the "
                f"record {len(mine)}"]
    return [_differs(f"{name}[{number}].{key}", other[key], line[key])
            for number, (line, other) in enumerate(zip(mine, theirs, strict=True), start=1)
            for key in line if line[key] != other[key]]


def _differs(name: str, copy: Any, recorded: Any) -> str:
    return f"{name}: 副本为 {copy!r}，记录为 {recorded!r} / the copy says {copy!r}, the record says {recorded!r}"


def checked_voucher(session: Session, sources: VoucherSources, document_type: str, document_no: str,
                    copy: Any, *, actor: str, where: dict[str, Any]) -> Voucher:
    """The recorded voucher of a document after the copy was compared with it; refused with an audit entry.

    The caller posts what this returns, never the copy. ``where`` (task, process, file …) goes into the
    audit entry of a refusal.
    """
    external_ref = f"{document_type}:{document_no}"
    try:
        recorded = sources.recorded(session, document_type, document_no, posting_date(session, external_ref))
        problems = (["没有凭证副本 / no voucher copy to compare"] if copy is None
                    else voucher_differences(recorded, copy))
    except VoucherRefused as exc:
        problems = exc.problems
    if problems:
        record_audit(session, actor=actor, action=REFUSED_ACTION, subject_type="voucher", subject_id=external_ref,
                     details={**where, "problems": problems})
        session.commit()  # the refusal is kept although the caller's unit of work ends in the exception
        raise VoucherRefused(problems)
    return recorded


def voucher_as_recorded(sources: VoucherSources, voucher: Voucher, copy: Any, *, actor: str,
                        where: dict[str, Any]) -> Voucher:
    """What a file or command posts: for a document type with a source, the voucher its records justify
    (``copy`` only compared with it, see ``checked_voucher``); a voucher of any other type as it is."""
    if not sources.handles(voucher.document_type):
        return voucher
    with session_scope() as session:
        return checked_voucher(session, sources, voucher.document_type, voucher.document_no, copy, actor=actor,
                               where=where)
