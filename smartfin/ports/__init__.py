"""Small interfaces the core owns and the bots implement (a voucher book, an invoice verifier).

Only values and protocols live here, so ``bots`` can depend on them without importing a domain module.
"""
