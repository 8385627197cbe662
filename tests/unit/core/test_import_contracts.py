"""The dependency rule of docs/architecture.md, as import-linter contracts in pyproject.toml: a
violation fails here before it turns into a Qt import on a headless server, a driver that needs the
database, or a screen that writes SQL."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[3]


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def test_lint_imports_keeps_every_contract():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the dev extra"
    result = subprocess.run([lint, "--config", "pyproject.toml", "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_server_contract_names_every_module_of_the_terminal():
    # "imports only app.domain" is written as a list of what is forbidden: a module added to app
    # later must join the list, or the server could import it unseen.
    terminal = {f"app.{p.stem}" for p in (ROOT / "app").glob("*.py") if p.stem not in ("__init__", "__main__")}
    terminal |= {f"app.{p.name}" for p in (ROOT / "app").iterdir() if (p / "__init__.py").exists()}
    terminal -= {"app.domain"}
    assert terminal <= set(contracts()["server-apart"]["forbidden_modules"])


def test_the_contracts_see_the_imports_they_allow():
    # Guards the guard: the graph the contracts are checked on holds the imports they permit, so a
    # kept contract means something (Qt seen from the UI, the UI seen from the command that opens it).
    graph = grimp.build_graph("app", "drivers", "sync", include_external_packages=True)
    assert graph.direct_import_exists(importer="app.ui.app", imported="PySide6")
    assert graph.direct_import_exists(importer="app.commands.gui", imported="app.ui.app")
    assert graph.direct_import_exists(importer="sync.server", imported="app.domain", as_packages=True)
    assert set(contracts()) == {"domain-alone", "drivers-alone", "qt-in-ui", "ui-on-top", "ui-through-services",
                                "core-layers", "core-below-the-edges", "client-on-the-core", "server-apart"}
