"""Medical-insurance settlement (医保结算): the daily reconciliation of the HIS with the insurance platform, the
month's clearing statements, the receivables ledger and its aging, DRG/DIP group results and appeal batches.

``tables`` holds the stored inputs and results; the reconciliation functions work on frames and know nothing
of the database, so the flows, the benchmark and the tests call the same code.
"""
