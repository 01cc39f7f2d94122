"""The ``reconciliation-review`` process: a finance officer's decision on a batch of reconciliation exceptions.

The matching and its tables are in ``smartfin.reconciliation``; this package is the process around them,
which needs the engine's record of who decided (``smartfin.processes.approvals``).
"""
