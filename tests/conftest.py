"""Test-wide setup: offscreen Qt, a private data directory per test, no stray network."""

from __future__ import annotations

import os

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def kezhan_home(tmp_path, monkeypatch):
    """Each test gets its own data directory, config and database file."""
    home = tmp_path / "kezhan-home"
    home.mkdir()
    monkeypatch.setenv("KEZHAN_HOME", str(home))
    monkeypatch.delenv("KEZHAN_CONFIG", raising=False)
    return home
