"""The one place that composes the product: its worker topics and its CLI command groups.

Which implementation stands behind each interface of ``smartfin.ports`` is chosen in
``smartfin.app.implementations``; the tables are listed in ``smartfin.app.tables``. A new business
process adds its worker and its commands to the lists below.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from smartfin.camunda.runtime import TopicRegistry


def product_registry() -> TopicRegistry:
    """Every topic the product's processes use, each handled exactly once (a topic claimed twice fails)."""
    from smartfin.app import bot_topics, implementations
    from smartfin.processes.adjustment import worker as adjustment
    from smartfin.processes.assessment import worker as assessment
    from smartfin.processes.cashalert import worker as cashalert
    from smartfin.processes.compilation import worker as compilation
    from smartfin.processes.contracts.contracts import contract_status
    from smartfin.processes.costreview import worker as costreview
    from smartfin.processes.insuranceappeal import worker as insuranceappeal
    from smartfin.processes.procurement import worker as procurement
    from smartfin.processes.reconciliation import worker as reconciliation
    from smartfin.processes.reimbursement import worker as reimbursement
    from smartfin.processes.spending import worker as spending

    reimbursement.use_verifier(implementations.configured_verifier)
    reimbursement.use_contract_register(contract_status)
    merged = TopicRegistry()
    for registry in (bot_topics.registry, reimbursement.registry, procurement.registry, reconciliation.registry,
                     spending.registry, costreview.registry, adjustment.registry, assessment.registry,
                     compilation.registry, insuranceappeal.registry,
                     cashalert.registry):
        merged.include(registry)
    return merged


def register_commands(app: typer.Typer) -> None:
    """Add every command group to the ``smartfin`` CLI, then those of installed plugins.

    Packages the core must not import (the flows) add theirs through the ``smartfin.commands`` entry point.
    """
    from smartfin.app import (
        assessment_commands,
        backup_commands,
        bot_commands,
        budget_commands,
        cash_commands,
        compilation_commands,
        cost_commands,
        db_commands,
        delegation_commands,
        department_commands,
        document_commands,
        insurance_commands,
        insurance_downloads,
        notify_commands,
    )
    from smartfin.processes.adjustment import commands as adjustment
    from smartfin.processes.compilation import commands as compilation
    from smartfin.processes.contracts import commands as contracts
    from smartfin.processes.costreview import commands as costreview
    from smartfin.processes.insuranceappeal import commands as insuranceappeal
    from smartfin.processes.procurement import commands as procurement
    from smartfin.processes.reimbursement import commands as reimbursement

    # the budget group before the groups that add subcommands to it (compilation, assessment), the cost group
    # before the cost reviews, which add `smartfin cost reviews` to it
    for module in (
        backup_commands, bot_commands, budget_commands, cash_commands, compilation_commands, assessment_commands,
        cost_commands, db_commands, delegation_commands, department_commands, document_commands, notify_commands,
        insurance_commands, reimbursement, procurement, costreview, contracts, adjustment, compilation,
        insuranceappeal, insurance_downloads,
    ):
        module.register(app)
    for plugin in sorted(entry_points(group="smartfin.commands"), key=lambda p: p.name):
        plugin.load()(app)
