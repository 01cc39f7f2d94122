"""The hospital's own plain exports (HIS charges and payments, the bank journal, cash hand-ins)."""
