"""Fixtures of the notification unit tests: a fresh SQLite database per test."""

from tests.support.databases import sqlite_engine

__all__ = ["sqlite_engine"]
