"""The cluster profile brought up for a test module: a var/ of its own, free ports, the test process as a client.

Both cluster test modules start their cluster the same way (the product's own `up --profile cluster` code) and
must leave the environment as they found it, whatever fails; this is the one place that does it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from smartfin.app import cluster_stack
from smartfin.kernel.settings import Settings, get_settings
from smartfin.store.db import get_engine
from tests.support.notify import free_port

#: what a client of the cluster is pointed at; restored after the module
CLIENT_KEYS = ("SMARTFIN_ENGINE_URL", "SMARTFIN_DATABASE_URL", "SMARTFIN_PREFECT_API_URL")


def refresh() -> None:
    """Forget the cached settings and database engine after the environment changed."""
    get_settings.cache_clear()
    get_engine.cache_clear()


@contextmanager
def running_cluster(prefix: str, extra: dict[str, str] | None = None) -> Iterator[Settings]:
    """Bring the cluster up in a fresh var/ on free ports, point this process at it, take it down afterwards.

    ``extra`` adds settings of the module's own (an escalation period, a bank account, more ports).
    """
    var_dir = tempfile.mkdtemp(prefix=prefix)
    os.chmod(var_dir, 0o711)  # PostgreSQL's OS user walks through it to var/cluster/pg
    overrides = {
        "SMARTFIN_VAR_DIR": var_dir, "SMARTFIN_CLUSTER_PG_PORT": str(free_port()),
        "SMARTFIN_CLUSTER_ENGINE_NODES": f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}",
        "SMARTFIN_CLUSTER_BALANCER_PORT": str(free_port()), "SMARTFIN_CLUSTER_PREFECT_PORT": str(free_port()),
        "SMARTFIN_STAND_IN_PORTALS": "false",
        # the people-facing services and the demo mail sink too: the demo tests run beside these at the same time
        "SMARTFIN_UPLOAD_PAGE_PORT": str(free_port()), "SMARTFIN_DASHBOARD_PORT": str(free_port()),
        "SMARTFIN_NOTIFY_DEMO_MAIL_PORT": str(free_port()), **(extra or {}),
    }
    saved = {key: os.environ.get(key) for key in [*overrides, *CLIENT_KEYS]}
    os.environ.update(overrides)
    refresh()
    settings = get_settings()
    try:
        cluster_stack.bring_up_cluster(settings, print, print)
        os.environ.update(cluster_stack.client_environment(settings))
        refresh()
        yield settings
    finally:
        for name, stopped in cluster_stack.take_down(settings):
            print(f"{name}: {'stopped' if stopped else 'was not running'}")
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        refresh()
        shutil.rmtree(var_dir, ignore_errors=True)
