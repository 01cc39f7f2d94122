"""Dated cash rules: the schedule of fiscal appropriations, loan service and taxes, and the payment policy."""
