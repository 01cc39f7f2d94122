"""Reimbursement claims per minute through the whole process, workers running, people played by a script.

Each claim carries two invoices (a digitalised XML and a pre-2024 PDF read with pdfplumber) and goes
through register → read → audit → verify by hand → reserve → four approvals → finance audit → posting →
actual. The ``post-voucher`` step is answered by a stand-in here (the posting bot needs the ERP portal,
measured by its own benchmark). The same-run baseline is the engine alone: bare processes with the same
number of user tasks per claim, completed by the same script — the floor the product adds its work to.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from smartfin.kernel.clock import hospital_now

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BENCH_DIR, import_bench_budget, isolated_engine

DEPARTMENT = "BXBENCH"
USER_OF = {"verifyManually": "wang.fang", "financeAudit": "wang.fang", "dept-head": "li.na",
           "vice-president": "chen.jie", "finance-officer": "wang.fang", "chief-accountant": "liu.yang",
           "finance-vp": "yang.min", "president": "zhao.lei"}


def claim_files(seed: int) -> list[tuple[str, bytes]]:
    from extractors.invoice.samples import pdf_invoice, xml_invoice

    first = xml_invoice(f"bench-{seed}", total=Decimal("120.00"))
    second = pdf_invoice(f"bench-{seed}", total=Decimal("86.50"))
    return [first[:2], second[:2]]


def play_people(engine, pids: set[str], stop: threading.Event) -> int:  # type: ignore[no-untyped-def]
    """Complete every open task of the benchmark's claims as the right demo user; returns tasks done."""
    from tests.support.engine import DEMO_PASSWORD

    clients = {user: engine.as_user(user, DEMO_PASSWORD) for user in set(USER_OF.values())}
    done = 0
    while not stop.is_set():
        tasks = [t for t in engine.tasks(processDefinitionKey="reimbursement") if t["processInstanceId"] in pids]
        for task in tasks:
            key = task["taskDefinitionKey"]
            if key == "approveClaim":
                links = engine.get(f"/task/{task['id']}/identity-links", type="candidate")
                user = USER_OF[links[0]["groupId"]]
                variables = {"decision": "approve", "comment": "ok"}
            elif key == "verifyManually":
                user, variables = USER_OF[key], {"decision": "consistent"}
            elif key == "financeAudit":
                user, variables = USER_OF[key], {"decision": "approve"}
            else:
                raise RuntimeError(f"unexpected task {key} in the benchmark: {task['name']}")
            clients[user].complete_task(task["id"], variables)
            done += 1
        if not tasks:
            time.sleep(0.05)
    return done


def run_claims(engine, count: int, first_seed: int = 0) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from smartfin.processes.reimbursement.claims import Claim, submit_claim
    from smartfin.store.db import session_scope

    files = [claim_files(first_seed + n) for n in range(count)]  # distinct invoices: no duplicates
    started = time.perf_counter()
    pids: set[str] = set()
    numbers = []
    for batch in files:
        number = submit_claim(batch, claimant="zhang.wei", department=DEPARTMENT, category="office",
                              purpose="基准测试 benchmark", engine=engine)
        numbers.append(number)
        with session_scope() as session:
            row = session.get(Claim, number)
            assert row is not None and row.process_instance_id
            pids.add(row.process_instance_id)
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        people = pool.submit(play_people, engine, pids, stop)
        while True:
            with session_scope() as session:
                paid = sum(1 for n in numbers if (row := session.get(Claim, n)) is not None and row.status == "paid")
            if paid == count:
                break
            if people.done():
                people.result()  # raises what stopped the script
            if time.perf_counter() - started > 60 + count * 20:
                raise RuntimeError(f"only {paid} of {count} claims were paid in time")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        stop.set()
        tasks = people.result()
    return elapsed, tasks


def run_baseline(engine, count: int, tasks_per_claim: int) -> float:  # type: ignore[no-untyped-def]
    from tests.support.engine import DEMO_PASSWORD

    head = engine.as_user("li.na", DEMO_PASSWORD)
    started = time.perf_counter()
    for n in range(count):
        for step in range(tasks_per_claim):
            instance = engine.start_process("bench-user-task", f"BASE-{n}-{step}", {})
            task = None
            while task is None:
                task = (engine.tasks(processInstanceId=instance["id"]) or [None])[0]
            head.complete_task(task["id"], {})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10 claims")
    args = parser.parse_args()
    count = 10 if args.quick else args.claims
    import logging
    logging.basicConfig(level=logging.WARNING)

    with isolated_engine([str(BENCH_DIR / "user-task.bpmn")]) as engine:
        from smartfin.app.wiring import product_registry
        from smartfin.camunda.runtime import Job, TopicRegistry, Worker

        import_bench_budget(DEPARTMENT, "30201")

        stand_in = TopicRegistry()

        @stand_in.topic("post-voucher")
        def post_voucher(job: Job) -> dict[str, str]:
            return {"voucherNo": f"记-{job.business_key}", "postedAt": hospital_now().isoformat()}

        topics = [name for name in product_registry().topics if name != "post-voucher"]
        registry = product_registry().only(topics).include(stand_in)
        worker = Worker(registry, worker_id="bench-claims", grace_s=5)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            run_claims(engine, 2, first_seed=100_000)  # warm-up: first deployment use, pdfplumber import
            elapsed, tasks = run_claims(engine, count)
        finally:
            worker.stop()
            worker.wait_stopped(30)
        per_claim = tasks // count
        baseline = run_baseline(engine, count, per_claim)
    project_rate = count / elapsed * 60
    baseline_rate = count / baseline * 60
    print(f"claims: {count}, user tasks per claim: {per_claim}, invoices per claim: 2 (XML + PDF)")
    print(f"project:  {project_rate:7.1f} claims/min ({elapsed:.1f} s, workers + approvals by script)")
    print(f"baseline: {baseline_rate:7.1f} claims/min ({baseline:.1f} s, engine alone: {per_claim} bare user-task "
          "processes per claim, same script)")
    print(f"ratio project/baseline: {project_rate / baseline_rate:.2f}")


if __name__ == "__main__":
    main()
