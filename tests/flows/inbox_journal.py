"""A stand-in for claim submission that keeps its submissions in a journal file, for the inbox tests.

It is the injected ``submit`` of the inbox flow (the reimbursement stream's ``submit_claim`` has the same
signature): every call appends one line, fsynced, so that a process killed right after a submission
leaves the evidence behind. ``crash_after`` kills the process (``os._exit``) after that many
submissions — between the submission and the inbox's record of it, the worst moment for a restart.

Run as a script it is the crashing first run: ``python inbox_journal.py JOURNAL INBOX CRASH_AFTER``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


class ClaimJournal:
    def __init__(self, path: Path, crash_after: int | None = None) -> None:
        self.path = path
        self.crash_after = crash_after

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]

    def submit(self, files: list[Path], *, claimant: str, department: str, category: str, purpose: str,
               funding_source: str = "fiscal", project: str = "", claim_no: str | None = None, **_: object) -> str:
        assert claim_no, "the inbox always names the claim number"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"claim_no": claim_no, "files": [Path(f).name for f in files],
                                     "claimant": claimant, "department": department, "category": category,
                                     "purpose": purpose}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if self.crash_after is not None and len(self.entries()) >= self.crash_after:
            os._exit(9)
        return claim_no

    def exists(self, claim_no: str) -> bool:
        return any(e["claim_no"] == claim_no for e in self.entries())


if __name__ == "__main__":
    from flows.inbox import invoice_inbox

    journal = ClaimJournal(Path(sys.argv[1]), crash_after=int(sys.argv[3]))
    invoice_inbox(folder=Path(sys.argv[2]), submit=journal.submit, claim_exists=journal.exists, settle_seconds=0)
    sys.exit(0)
