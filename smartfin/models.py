"""Imports every table module so that ``SQLModel.metadata`` knows all tables before ``create_all``.

Each domain module owns its tables; this file only lists them.
"""

import smartfin.audit
import smartfin.claims
import smartfin.inbox
import smartfin.ledger.models
import smartfin.posting
import smartfin.procurement
import smartfin.reconciliation.models
import smartfin.spending  # noqa: F401
