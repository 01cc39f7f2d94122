"""Invoice inbox flow: each file submitted exactly once — across a crash mid-batch and a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from inbox_journal import ClaimJournal
from sqlmodel import select

from extractors.invoice.samples import xml_sample
from flows.inbox import invoice_inbox
from smartfin.processes.reimbursement.inbox import InboxFile
from smartfin.store.db import session_scope

ROOT = Path(__file__).resolve().parents[2]
CLAIM = {"claimant": "zhang.wei", "department": "T-INBOX", "category": "materials"}


def drop_batch(folder: Path, seeds: range) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "claim.json").write_text(json.dumps(CLAIM), encoding="utf-8")
    files = []
    for seed in seeds:
        sample = xml_sample(seed)
        path = folder / f"invoice-{seed:03d}.xml"
        path.write_bytes(sample.data)
        files.append(path)
    return files


def rows_for(folder: Path) -> list[InboxFile]:
    with session_scope() as session:
        rows = session.exec(select(InboxFile)).all()
    return [r for r in rows if r.path.startswith(str(folder.resolve()))]


def test_every_file_once_and_a_second_scan_takes_nothing(flow_env: Path, tmp_path: Path):
    inbox = tmp_path / "inbox-once"
    drop_batch(inbox / "batch-1", range(100, 103))
    journal = ClaimJournal(tmp_path / "journal.jsonl")
    out = invoice_inbox(folder=inbox, submit=journal.submit, claim_exists=journal.exists, settle_seconds=0)
    assert [o["status"] for o in out] == ["submitted"] * 3
    assert all(o["invoice_no"] for o in out)  # extracted before submission
    assert invoice_inbox(folder=inbox, submit=journal.submit, claim_exists=journal.exists, settle_seconds=0) == []
    entries = journal.entries()
    assert len(entries) == 3 and len({e["claim_no"] for e in entries}) == 3
    assert entries[0]["department"] == "T-INBOX" and "发票" in entries[0]["purpose"]


def test_same_content_under_another_name_is_a_duplicate(flow_env: Path, tmp_path: Path):
    inbox = tmp_path / "inbox-dup"
    [first] = drop_batch(inbox / "a", range(110, 111))
    (inbox / "b").mkdir()
    (inbox / "b" / "claim.json").write_text(json.dumps(CLAIM), encoding="utf-8")
    (inbox / "b" / "copy.xml").write_bytes(first.read_bytes())
    journal = ClaimJournal(tmp_path / "journal.jsonl")
    invoice_inbox(folder=inbox, submit=journal.submit, claim_exists=journal.exists, settle_seconds=0)
    assert len(journal.entries()) == 1
    statuses = sorted(r.status for r in rows_for(inbox))
    assert statuses == ["duplicate", "submitted"]


def test_file_without_claimant_is_rejected_then_taken_once_fixed(flow_env: Path, tmp_path: Path):
    inbox = tmp_path / "inbox-meta"
    drop_batch(inbox / "x", range(120, 121))
    (inbox / "x" / "claim.json").unlink()
    journal = ClaimJournal(tmp_path / "journal.jsonl")
    [out] = invoice_inbox(folder=inbox, submit=journal.submit, claim_exists=journal.exists, settle_seconds=0)
    assert out["status"] == "rejected" and "claimant" in out["note"] and journal.entries() == []
    (inbox / "x" / "claim.json").write_text(json.dumps(CLAIM), encoding="utf-8")
    [out] = invoice_inbox(folder=inbox, submit=journal.submit, claim_exists=journal.exists, settle_seconds=0)
    assert out["status"] == "submitted" and len(journal.entries()) == 1


def test_restart_after_a_crash_mid_batch_submits_each_file_exactly_once(flow_env: Path, tmp_path: Path,
                                                                        prefect_server: str):
    inbox = tmp_path / "inbox-crash"
    files = drop_batch(inbox / "batch", range(130, 135))
    journal_file = tmp_path / "journal.jsonl"
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "PYTHONPATH": str(ROOT)}
    crashed = subprocess.run([sys.executable, str(Path(__file__).with_name("inbox_journal.py")), str(journal_file),
                              str(inbox), "2"], env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert crashed.returncode == 9, crashed.stderr.decode()[-2000:]
    journal = ClaimJournal(journal_file)
    assert len(journal.entries()) == 2
    statuses = sorted(r.status for r in rows_for(inbox))
    assert statuses == ["claimed", "submitted"]  # the second was submitted, then the process died

    out = invoice_inbox(folder=inbox, submit=journal.submit, claim_exists=journal.exists, settle_seconds=0)
    assert [o["status"] for o in out] == ["submitted"] * 4
    assert out[0]["note"] == "recovered after restart"
    submitted = [e["files"][0] for e in journal.entries()]
    assert sorted(submitted) == sorted(p.name for p in files)  # every file, none twice
    assert {r.status for r in rows_for(inbox)} == {"submitted"}
