"""Imports every table module so that ``SQLModel.metadata`` knows all tables before ``create_all``.

Each domain module owns its tables; this file only lists them.
"""
import smartfin.ledger.models  # noqa: F401
import smartfin.audit  # noqa: F401
import smartfin.spending  # noqa: F401
import smartfin.reconciliation.models  # noqa: F401
