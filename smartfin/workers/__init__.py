"""External-task workers: the runtime and the adapters that register their topics.

Every module in this package other than ``runtime`` is an adapter that defines a module-level
``registry`` (a ``TopicRegistry``); ``product_registry()`` merges them into the one map from topic to
handler, refusing a topic claimed twice. Adding a process's workers means adding one module here.
"""

from __future__ import annotations

import importlib
import pkgutil

from smartfin.workers.runtime import TopicRegistry

NOT_ADAPTERS = {"runtime"}


def adapter_modules() -> list[str]:
    """Names of the adapter modules, sorted so the merge order is stable."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in NOT_ADAPTERS)


def product_registry() -> TopicRegistry:
    """Every topic the product's processes use, each handled exactly once."""
    merged = TopicRegistry()
    for name in adapter_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        registry = getattr(module, "registry", None)
        if not isinstance(registry, TopicRegistry):
            raise TypeError(f"smartfin.workers.{name} defines no module-level `registry` TopicRegistry")
        merged.include(registry)
    return merged
