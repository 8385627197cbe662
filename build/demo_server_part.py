"""The optional demo server part beside the bundle (``bash build/build.sh``): the reference provincial
server's code and every distribution it and the demo province's generator need that the bundle does
not carry: pure Python but for pydantic-core (the server's request bodies), so the part is built for
the bundle's platform.

The distributions are found from their metadata — the ``server`` extra's requirements and theirs, in
turn — so a new dependency of FastAPI or Uvicorn comes along without a list to keep. What the bundle
already archived (its ``PYZ-00.toc``) is not copied again.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import shutil
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# orjson is compiled and optional (the server falls back to the standard json module). filelock is the
# server's writer lock (sync/server/db.py); the terminal has its own OS lock (app/oslock.py). pypinyin
# (pure Python, 3 MB of dictionaries) gives a generated province its initials (app.demodata): the
# frozen terminal generates one for the demo, and for `kezhan bench`'s data sets, which need this part.
ROOTS = ("fastapi", "uvicorn", "filelock", "pypinyin")
SKIP = {"orjson"}


def _closure() -> list[md.Distribution]:
    seen: dict[str, md.Distribution] = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen or name in SKIP:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def _top_level(dist: md.Distribution) -> set[str]:
    names = set()
    for file in dist.files or []:
        part = file.parts[0]
        if part.endswith((".dist-info", ".egg-info")) or part in ("..", "__pycache__", "bin"):
            continue
        names.add(part[:-3] if part.endswith(".py") else part)
    return names


def build(out: Path, pyz_toc: Path) -> list[str]:
    toc = ast.literal_eval(pyz_toc.read_text())
    in_bundle = {entry[0].split(".")[0] for entry in toc[-1]}
    if out.exists():
        shutil.rmtree(out)
    (out / "sync").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "sync" / "server", out / "sync" / "server", ignore=ignore)
    site = Path(md.distribution("fastapi").locate_file(""))
    copied = []
    for dist in _closure():
        for name in sorted(_top_level(dist) - in_bundle):
            source = site / name
            if source.is_dir():
                shutil.copytree(source, out / name, ignore=ignore)
            elif (site / f"{name}.py").is_file():
                shutil.copy2(site / f"{name}.py", out / f"{name}.py")
            else:
                continue
            copied.append(name)
    return copied


if __name__ == "__main__":
    names = build(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"optional demo server part: {sys.argv[1]} (sync.server, {', '.join(names)})")
