"""Imports every table module so that ``SQLModel.metadata`` knows all tables before ``create_all``.

Each domain module owns its tables; this file only lists them.
"""
