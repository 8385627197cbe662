"""The one dependency rule (docs/architecture.md), checked on the source: a violation fails here
before it turns into a Qt import on a headless server or a driver that needs the database."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def imports_of(package: str) -> dict[str, set[str]]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def offenders(package: str, forbidden) -> list[str]:
    return [f"{path}: {name}" for path, names in imports_of(package).items() for name in sorted(names)
            if forbidden(name)]


def under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("package", ["app/domain", "app/store", "app/services", "app/demodata", "drivers", "sync"])
def test_the_core_never_imports_qt_or_the_ui(package):
    assert offenders(package, lambda n: under(n, "PySide6", "app.ui")) == []


def test_the_domain_imports_nothing_of_the_project_but_itself():
    assert offenders("app/domain", lambda n: under(n, "app", "sync", "drivers") and not under(n, "app.domain")) == []


def test_drivers_import_nothing_of_the_project():
    assert offenders("drivers", lambda n: under(n, "app", "sync")) == []


def test_the_store_does_not_reach_up_to_services_or_sync():
    assert offenders("app/store", lambda n: under(n, "app.services", "sync", "app.demo", "app.commands")) == []


def test_services_do_not_reach_into_sync_or_devices():
    assert offenders("app/services", lambda n: under(n, "sync", "drivers", "app.commands")) == []


def test_the_check_sees_imports_where_they_are_allowed():
    # Guards the guard: the UI does import Qt, and the commands do import the UI.
    assert offenders("app/ui", lambda n: under(n, "PySide6"))
    assert offenders("app/commands", lambda n: under(n, "app.ui"))
