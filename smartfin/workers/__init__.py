"""External-task workers: the runtime and the adapters that register their topics on one registry."""

from __future__ import annotations

from smartfin.workers.runtime import TopicRegistry


def product_registry() -> TopicRegistry:
    """Every topic the product's processes use, each handled exactly once."""
    from smartfin.workers import spending

    return TopicRegistry().include(spending.registry)
