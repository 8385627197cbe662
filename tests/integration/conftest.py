"""Fixtures shared by the integration tests of more than one layer."""

from __future__ import annotations

import os

import pytest

from app.store.engine import open_database


@pytest.fixture
def db(db_path):
    """The terminal database at the test directory's ``db_path``, disposed after the test."""
    database = open_database(db_path)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL for the session (tests/integration/postgres.py), started on first use.
    Where it cannot be started the PostgreSQL variants are skipped, except in CI (CI=true), where
    a missing PostgreSQL fails them: the suite must have run on both engines there."""
    from tests.integration.postgres import ThrowawayPostgres, find_bindir, missing_reason

    bindir = find_bindir()
    reason = missing_reason(bindir)
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI runs the server's tests on PostgreSQL, but: {reason}", pytrace=False)
        pytest.skip(reason)
    pg = ThrowawayPostgres(bindir).start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def server_db_url(request, tmp_path):
    """The reference server's database, once on each engine: an SQLite file in the test's folder, and
    a fresh database of the session's throwaway PostgreSQL (dropped after the test)."""
    if request.param == "sqlite":
        yield str(tmp_path / "province.db")
        return
    pg = request.getfixturevalue("postgres")
    url = pg.new_database()
    try:
        yield url
    finally:
        pg.drop_database(url)
