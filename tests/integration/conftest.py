"""Fixtures shared by the integration tests of more than one layer."""

from __future__ import annotations

import pytest

from app.store.engine import open_database


@pytest.fixture
def db(db_path):
    """The terminal database at the test directory's ``db_path``, disposed after the test."""
    database = open_database(db_path)
    yield database
    database.dispose()
