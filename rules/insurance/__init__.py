"""Dated standards of medical-insurance settlement (医保结算标准)."""
