"""Persistence: the only package that talks SQL. See tables.py for the data model."""

from harvester.store.db import Database

__all__ = ["Database"]
