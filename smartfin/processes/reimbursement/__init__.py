"""Reimbursement claims (报销): intake, invoice extraction and verification, audit, posting."""
