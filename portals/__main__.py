"""Command line: `python -m portals --data-dir var/portals --erp-port 8101 --bank-port 8102 --tax-port 8103`
(and `--insurance-port 8104`).

Runs until SIGTERM or SIGINT, then stops the servers cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from portals.config import PortalConfig, admin_token, demo_accounts, faults_from_env, load_seed_users
from portals.runner import start_portals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portals", description="Start the stand-in legacy portals.")
    parser.add_argument("--data-dir", type=Path, default=Path("var/portals"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--erp-port", type=int, default=8101)
    parser.add_argument("--bank-port", type=int, default=8102)
    parser.add_argument("--tax-port", type=int, default=8103)
    parser.add_argument("--insurance-port", type=int, default=8104)
    parser.add_argument("--seed-users", type=Path, help="JSON file with the accounts to create on first start")
    parser.add_argument("--tax-invoices", type=Path, help="JSON list of invoices the verification portal knows")
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("PORTALS_ADMIN_TOKEN"),
        help="token for /__admin endpoints (default: $PORTALS_ADMIN_TOKEN or generated)",
    )
    parser.add_argument("--idle-timeout", type=float, default=300, help="session idle timeout in seconds")
    parser.add_argument("--erp-search-delay", type=float, default=0.5, help="seconds the voucher search takes")
    args = parser.parse_args(argv)

    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.seed_users:
        users, accounts_path = load_seed_users(args.seed_users), args.seed_users
    else:
        users, accounts_path = demo_accounts(data_dir)
    token, token_path = admin_token(data_dir, args.admin_token)
    config = PortalConfig(
        data_dir=data_dir,
        admin_token=token,
        users=users,
        idle_timeout_seconds=args.idle_timeout,
        erp_search_delay_seconds=args.erp_search_delay,
        tax_invoices=json.loads(args.tax_invoices.read_text(encoding="utf-8")) if args.tax_invoices else None,
        faults=faults_from_env(os.environ),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    portals = start_portals(config, {"erp": args.erp_port, "bank": args.bank_port, "tax": args.tax_port,
                                      "insurance": args.insurance_port}, args.host)
    print(f"ERP  (会计凭证录入)     {portals.urls['erp']}/login", flush=True)
    print(f"Bank (网上银行)         {portals.urls['bank']}/login", flush=True)
    print(f"Tax  (发票查验平台)     {portals.urls['tax']}/", flush=True)
    print(f"Insurance (医保结算平台) {portals.urls['insurance']}/login", flush=True)
    print(f"Accounts: {accounts_path} (seeded into each portal's user table on first start)", flush=True)
    print(f"Admin token: {token_path or 'as given'} (header X-Admin-Token on /__admin/...)", flush=True)
    while not stop.wait(0.5):
        if not portals.alive:
            print("portal servers stopped unexpectedly", file=sys.stderr)
            return 1
    portals.stop()
    print("portals stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
