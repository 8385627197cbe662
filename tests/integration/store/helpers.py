"""Terminal database files for the store's tests."""

from __future__ import annotations

from pathlib import Path

from app.store.engine import open_database
from app.store.province import load_province
from tests.integration.store.tiny_province import tiny_province


def tiny_database(path: Path) -> Path:
    """A migrated terminal database at ``path`` with the tiny province loaded, closed again."""
    db = open_database(path)
    with db.transaction() as session:
        load_province(session, tiny_province())
    db.dispose()
    return path
