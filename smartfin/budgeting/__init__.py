"""Budget compilation (预算编制, 两上两下): the project pool with its performance targets, the compilation round of a
fiscal year, the departments' workbooks and drafts, consolidation with the budget committee's control numbers,
and the issue of the approved budget into the ledger.

A plain library over its own tables and the ledger: the ``budget-compilation`` process, the CLI and the benchmark
call the same functions.
"""
