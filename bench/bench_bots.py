"""Bot benchmarks: vouchers posted per second, and browser memory over many work items.

1. Throughput. At each concurrency 1..N the same run posts vouchers three ways against the stand-in ERP,
   taking turns in alternating rounds (logins and browser starts outside every clock):
   - *straight line*: a plain Playwright script with the same clicks (frameset, search by reference,
     entry form, confirm dialog, save, search again to verify), one logged-in context per coroutine, no
     journal, no evidence, no retries — the fastest a hand-written script gets;
   - *runtime*: ``bots.erp.post_voucher`` as the worker calls it (journal, fresh context per voucher from
     the saved login, trace recording, account slots).
   - *straight line, fresh context*: the same script opening a new context per voucher, which the runtime
     must do (a context kept open grows), to separate what that rule costs from what the runtime costs.
   Targets: runtime ≥ 0.8 × straight line, and ≥ 1 voucher/s on 2 cores.
2. Memory. ``--memory-items`` work items through the runtime at concurrency 2 (each opens the ERP
   frameset in a fresh context from the saved login; every tenth also searches), sampling the
   proportional set size (PSS) of the Chromium process tree every 50 items: browser alone, per open
   context, and the trend over the run (it must not grow).

The ERP's artificial search delay is set to 0 for the benchmark (it only adds sleep time, no CPU), and
the portals run in their own process so they do not share this process's interpreter.

    .venv/bin/python bench/bench_bots.py            # 1, 2, 4 contexts, 48 vouchers each in 8 rounds; 500 memory items
    .venv/bin/python bench/bench_bots.py --quick    # 1, 2 contexts, 12 vouchers in 4 rounds; 100 memory items
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ADMIN_TOKEN = secrets.token_urlsafe(16)
USER, PASSWORD = "bench-clerk", secrets.token_urlsafe(12)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_portals(var_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    seed = var_dir / "seed.json"
    seed.write_text(json.dumps({"erp": [{"username": USER, "password": PASSWORD, "display_name": "基准"}]}))
    ports = [free_port() for _ in range(3)]
    process = subprocess.Popen(
        [sys.executable, "-m", "portals", "--data-dir", str(var_dir / "portals"), "--erp-port", str(ports[0]),
         "--bank-port", str(ports[1]), "--tax-port", str(ports[2]), "--seed-users", str(seed),
         "--erp-search-delay", "0"],
        env={**os.environ, "PORTALS_ADMIN_TOKEN": ADMIN_TOKEN}, stdout=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent)
    url = f"http://127.0.0.1:{ports[0]}"
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("portals did not start")


# -- straight line -------------------------------------------------------------------------------

async def straight_line(url: str, concurrency: int, total: int, tag: str, fresh: bool = False) -> float:
    """The same clicks as the page objects, written out in one coroutine per context; seconds taken.

    Each coroutine logs in before the clock starts (the runtime's login is outside its clock too).
    ``fresh``: a new context (from the saved login) per voucher, as the runtime must — to show what that
    rule costs by itself.
    """
    from playwright.async_api import async_playwright

    from bots.browser import launch_chromium_async

    async with async_playwright() as playwright:
        browser = await launch_chromium_async(playwright)
        counter = iter(range(total))

        async def logged_in() -> tuple[object, object, object]:
            context = await browser.new_context()
            page = await context.new_page()
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await page.goto(url + "/login")
            await page.fill("#username", USER)
            await page.fill("#password", PASSWORD)
            await page.click("#btnLogin")
            await page.locator("#menuFrame").wait_for()
            return context, page, await context.storage_state()

        async def clerk(worker: int, context, page, state) -> None:  # type: ignore[no-untyped-def]
            for number in counter:
                ref = f"straight:{tag}-{worker}-{number}-{int(fresh)}"
                if fresh:
                    await context.close()
                    context = await browser.new_context(storage_state=state)
                    page = await context.new_page()
                    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
                await page.goto(url + "/main")
                menu, work = page.frame_locator("#menuFrame"), page.frame_locator("#mainFrame")
                await search(menu, work, ref)
                await menu.locator("#menuVoucherNew").click()
                await work.locator("#voucherForm").wait_for()
                await work.locator("#voucher_type").select_option("付")
                await work.locator("#voucher_date").fill("2026-08-01")
                await work.locator("#attachments").fill("1")
                await work.locator("#summary").fill("基准测试")
                await work.locator("#external_ref").fill(ref)
                for prefix, rows in (("fin", (("5001", "88.00", ""), ("1002", "", "88.00"))),
                                     ("bud", (("7201", "88.00", ""), ("8001", "", "88.00")))):
                    for row, (account, debit, credit) in enumerate(rows, start=1):
                        await work.locator(f"#{prefix}_account_{row}").fill(account)
                        await work.locator(f"#{prefix}_summary_{row}").fill("基准测试")
                        await work.locator(f"#{prefix}_debit_{row}").fill(debit)
                        await work.locator(f"#{prefix}_credit_{row}").fill(credit)
                await work.locator("#btnSave").click()
                await work.locator("#voucherNo").inner_text()
                await search(menu, work, ref)
            await context.close()

        sessions = await asyncio.gather(*(logged_in() for _ in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(clerk(worker, *session) for worker, session in enumerate(sessions)))
        elapsed = time.perf_counter() - started
        await browser.close()
    return elapsed


async def search(menu, work, ref: str) -> None:  # type: ignore[no-untyped-def]
    await menu.locator("#menuVoucherSearch").click()
    await work.locator("#ref").fill(ref)
    await work.locator("#btnSearch").click()
    await work.locator("#pageInfo").wait_for()


# -- runtime ---------------------------------------------------------------------------------------

def new_runtime(concurrency: int, tag: str):  # type: ignore[no-untyped-def]
    """A runtime with the browser started and the login saved (both outside every clock)."""
    from bots.config import BotSettings
    from bots.runtime import BotRuntime
    from smartfin.app.implementations import post_voucher
    from smartfin.kernel.settings import get_settings
    from smartfin.ports.vouchers import payment_voucher

    runtime = BotRuntime(get_settings(), BotSettings(sessions_per_account=concurrency))
    post_voucher(payment_voucher(document_type="warmup", document_no=tag, booked_on=date(2026, 8, 1),
                                 summary="预热", amount=Decimal("1.00")), runtime=runtime)
    return runtime


def runtime_batch(runtime, concurrency: int, total: int, tag: str) -> float:  # type: ignore[no-untyped-def]
    """``bots.erp.post_voucher`` as the worker calls it, from ``concurrency`` threads; seconds taken."""
    from smartfin.app.implementations import post_voucher
    from smartfin.ports.vouchers import payment_voucher

    counter = iter(range(total))
    lock = threading.Lock()

    def clerk() -> None:
        while True:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            post_voucher(payment_voucher(document_type="runtime", document_no=f"{tag}-{number}",
                                         booked_on=date(2026, 8, 1), summary="基准测试", amount=Decimal("88.00"),
                                         attachments=1), runtime=runtime)

    threads = [threading.Thread(target=clerk) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def measure_level(url: str, level: int, vouchers: int, rounds: int) -> tuple[dict[str, float], object]:
    """Vouchers/s of the three sides at one concurrency, in alternating rounds.

    The sides take turns, in a rotating order, ``rounds`` times; each side's rate is its vouchers over
    its summed time. Load from elsewhere on a shared machine then falls on all three alike instead of
    on whichever ran during it.
    """
    runtime = new_runtime(level, f"L{level}")
    per_round = max(level, vouchers // rounds)
    spent = {"straight": 0.0, "fresh": 0.0, "runtime": 0.0}
    sides = list(spent)
    try:
        for round_no in range(rounds):
            for side in sides[round_no % 3:] + sides[:round_no % 3]:
                tag = f"L{level}R{round_no}"
                if side == "runtime":
                    spent[side] += runtime_batch(runtime, level, per_round, tag)
                else:
                    spent[side] += asyncio.run(straight_line(url, level, per_round, tag, fresh=side == "fresh"))
        stats = runtime.stats
    finally:
        runtime.close()
    return {side: per_round * rounds / seconds for side, seconds in spent.items()}, stats


# -- memory ----------------------------------------------------------------------------------------

def chromium_pss_mb() -> float:
    """PSS of every Chromium process descended from this process, in MB."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            names[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="ignore")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    me, total = os.getpid(), 0.0
    for pid, name in names.items():
        if "chrom" not in name:
            continue
        ancestor = pid
        while ancestor > 1 and ancestor != me:
            ancestor = parents.get(ancestor, 1)
        if ancestor != me:
            continue
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def memory_run(items: int, url: str) -> dict[str, object]:
    from bots.config import BotSettings
    from bots.erp import ErpDriver, ErpVoucherBook
    from bots.runtime import BotRuntime, BotSession
    from smartfin.kernel.settings import get_settings

    runtime = BotRuntime(get_settings(), BotSettings(sessions_per_account=2))
    driver = ErpDriver(get_settings(), runtime.bot)

    async def look_up(session: BotSession) -> list[str]:
        return await ErpVoucherBook(session, driver).find("runtime:none")

    async def open_frameset(session: BotSession) -> None:
        await session.page.goto(url + "/main")
        await session.page.frame_locator("#mainFrame").locator("body").wait_for()

    release = threading.Event()

    async def hold(session: BotSession) -> None:
        await session.page.goto(url + "/main")
        await asyncio.to_thread(release.wait)

    runtime.run(driver, "warm", look_up)
    time.sleep(1)
    browser_only = chromium_pss_mb()
    # per context: hold two item contexts open on the frameset, measure, release them
    holders = [threading.Thread(target=runtime.run, args=(driver, f"hold-{i}", hold)) for i in range(2)]
    for holder in holders:
        holder.start()
    deadline = time.monotonic() + 60
    while runtime.stats.contexts_open < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    with_contexts = chromium_pss_mb()
    release.set()
    for holder in holders:
        holder.join()
    samples: list[tuple[int, float]] = []
    done = 0
    lock = threading.Lock()

    def clerk() -> None:
        nonlocal done
        while True:
            with lock:
                if done >= items:
                    return
                done += 1
                current = done
            runtime.run(driver, f"mem-{current}", look_up if current % 10 == 0 else open_frameset)
            if current % 50 == 0:
                samples.append((current, chromium_pss_mb()))

    started = time.perf_counter()
    threads = [threading.Thread(target=clerk) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    runtime.close()
    samples.sort()
    xs, ys = [x for x, _ in samples], [y for _, y in samples]
    slope = statistics.linear_regression(xs, ys).slope * 100 if len(samples) >= 2 else 0.0
    return {"browser_mb": browser_only, "per_context_mb": (with_contexts - browser_only) / 2, "samples": samples,
            "slope_mb_per_100": slope, "items_per_s": items / elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer levels and items (about a minute)")
    parser.add_argument("--levels", default=None, help="concurrency levels, e.g. 1,2,4")
    parser.add_argument("--vouchers", type=int, default=None, help="vouchers per level and side")
    parser.add_argument("--memory-items", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds per level (see measure_level); "
                        "default 8, --quick 4")
    args = parser.parse_args()
    levels = [int(x) for x in (args.levels or ("1,2" if args.quick else "1,2,4")).split(",")]
    vouchers = args.vouchers or (12 if args.quick else 48)
    args.rounds = args.rounds or (4 if args.quick else 8)
    memory_items = args.memory_items if args.memory_items is not None else (100 if args.quick else 500)

    var_dir = Path(tempfile.mkdtemp(prefix="smartfin-bench-bots-"))
    os.environ.update({"SMARTFIN_VAR_DIR": str(var_dir), "SMARTFIN_ERP_ACCOUNT": USER,
                       "SMARTFIN_ERP_PASSWORD": PASSWORD})
    portals, url = start_portals(var_dir)
    os.environ["SMARTFIN_ERP_URL"] = url
    from smartfin.kernel.settings import get_settings

    get_settings.cache_clear()
    print(f"stand-in ERP at {url} (search delay 0), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    try:
        print(f"\nvouchers/s ({vouchers} vouchers per side and level in {args.rounds} alternating rounds; same run)")
        print(f"{'contexts':>8} {'straight line':>14} {'ditto, fresh ctx':>17} {'runtime':>9} {'ratio':>6} "
              f"{'vs fresh':>9}")
        ratios = []
        for level in levels:
            rates, stats = measure_level(url, level, vouchers, args.rounds)
            baseline, fresh, rate = rates["straight"], rates["fresh"], rates["runtime"]
            ratios.append(rate / baseline)
            print(f"{level:>8} {baseline:>14.2f} {fresh:>17.2f} {rate:>9.2f} {rate / baseline:>6.2f} "
                  f"{rate / fresh:>9.2f}   (max contexts open {stats.max_contexts_open}, logins {stats.logins})",
                  flush=True)
        if memory_items:
            print(f"\nmemory over {memory_items} work items (fresh context each, 2 at a time)", flush=True)
            memory = memory_run(memory_items, url)
            print(f"browser alone: {memory['browser_mb']:.0f} MB PSS; per open context: "
                  f"{memory['per_context_mb']:.0f} MB; {memory['items_per_s']:.2f} items/s")
            print("PSS after n items: " + ", ".join(f"{n}: {mb:.0f} MB" for n, mb in memory["samples"]))  # type: ignore[attr-defined]
            print(f"trend: {memory['slope_mb_per_100']:+.1f} MB per 100 items")
        print(f"\nworst ratio {min(ratios):.2f} (target ≥ 0.80)")
    finally:
        portals.terminate()
        portals.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
