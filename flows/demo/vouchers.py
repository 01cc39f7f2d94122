"""The demo's vouchers: the approved claim's payment voucher posted into the (stand-in) ERP, once.

The core demo carries one claim through approval. Its voucher reaches the ERP one of two ways: the
reimbursement process posts it itself (``post-voucher``, recorded in the posting journal), or it waits in
the posting outbox for the posting batch. The demo cannot know the claim's number, so it waits for either
sign — a voucher in the outbox, or a voucher the journal records as posted — then runs the posting batch,
which posts what the outbox holds and recognises what is posted already. Nothing is posted twice: the
batch and the bot both look the voucher's reference up first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from flows.demo.runs import DemoStepFailed, run_flow
from smartfin.kernel.settings import Settings
from smartfin.posting.journal import PostingState, VoucherPosting
from smartfin.store.db import session_scope

SHOWN_VOUCHERS = 5


def posted_vouchers(engine: Engine | None = None) -> list[VoucherPosting]:
    """Vouchers the posting journal records as posted, the latest first."""
    with session_scope(engine) as session:
        return list(session.exec(select(VoucherPosting).where(VoucherPosting.state == PostingState.POSTED)
                                 .order_by(col(VoucherPosting.posted_at).desc())).all())


def _journal_states(engine: Engine | None) -> dict[str, int]:
    with session_scope(engine) as session:
        states: dict[str, int] = {}
        for entry in session.exec(select(VoucherPosting)).all():
            states[entry.state] = states.get(entry.state, 0) + 1
        return states


def await_vouchers(posting_root: Path, echo: Callable[[str], None], *, timeout_s: float, poll_s: float = 2.0,
                   engine: Engine | None = None) -> None:
    """Wait until the outbox holds a voucher or the journal records one as posted; at most ``timeout_s``.

    Raises :class:`DemoStepFailed` (after saying so through ``echo``) when neither happens in time.
    """
    outbox = posting_root / "outbox"
    deadline = time.monotonic() + timeout_s
    announced = False
    while True:
        if (outbox.is_dir() and any(outbox.glob("*.json"))) or posted_vouchers(engine):
            return
        if time.monotonic() >= deadline:
            states = _journal_states(engine)
            seen = (", ".join(f"{n} {s}" for s, n in sorted(states.items())) if states
                    else "no voucher at all")
            message = (f"no approved voucher arrived within {timeout_s:.0f} s: the posting outbox {outbox} is empty "
                       f"and the posting journal records none as posted (journal: {seen}); the demo's approved "
                       "claim should have reached posting — see `smartfin logs worker` and the claim in Cockpit")
            echo(f"vouchers: {message}")
            raise DemoStepFailed(message)
        if not announced:
            echo(f"vouchers: waiting up to {timeout_s:.0f} s for the approved claim's voucher (outbox {outbox} "
                 "or the posting journal) …")
            announced = True
        time.sleep(poll_s)


def post_demo_vouchers(settings: Settings, echo: Callable[[str], None], officer: str, *,
                       timeout_s: float) -> list[tuple[str, str]]:
    """Wait for the approved claim's voucher, run the posting batch, and say where the vouchers are."""
    from bots.config import DEMO_ACCOUNTS

    root = settings.flows.posting_root
    await_vouchers(root, echo, timeout_s=timeout_s)
    outcomes = run_flow("posting-batch")
    for outcome in outcomes:
        echo(f"  posting-batch: {outcome['voucher']} {outcome['status']} "
             f"{outcome['voucher_no'] or outcome['note']}".rstrip())
    if not outcomes:
        echo("  posting-batch: nothing waiting in the outbox (vouchers already posted stay posted)")
    erp = "ERP stand-in" if settings.stand_in_portals else "ERP"
    login = (f" (ERP login: {settings.var_dir / DEMO_ACCOUNTS})" if settings.stand_in_portals else "")
    guidance = [(officer, f"{erp} {settings.erp_url}/voucher/search?ref={quote(entry.external_ref, safe='')}"
                          f"{login}: voucher {entry.voucher_no} posted for {entry.external_ref}, ¥{entry.amount}")
                for entry in posted_vouchers()[:SHOWN_VOUCHERS]]
    guidance += [(officer, f"{root / 'rejected'}: voucher {o['voucher']} set aside by the posting batch — {o['note']}")
                 for o in outcomes if o["status"] == "rejected"]
    echo(f"vouchers: {len(posted_vouchers())} posted in the ERP")
    return guidance
