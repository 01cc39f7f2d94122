"""Posting vouchers into the hospital's ERP exactly once: the posting journal."""
