import sys
from pathlib import Path

from app.cli import main

# The frozen build has two executables over one set of files: `kezhan` (console, the CLI) and
# `kezhan-gui` (windowed: no console window behind the counter), which is `kezhan gui`.
GUI_EXECUTABLE = "kezhan-gui"


def _argv() -> list[str]:
    args = sys.argv[1:]
    if getattr(sys, "frozen", False) and Path(sys.executable).stem.lower() == GUI_EXECUTABLE:
        return ["gui", *args]
    return args


def _optional_parts() -> None:
    """The frozen build leaves the reference provincial server out; the demo's embedded server is
    an optional part installed beside it (``demo-server/`` in the bundle's folder, or the build's
    ``dist/kezhan-demo-server/``): pure Python, found here when present."""
    here = Path(sys.executable).resolve().parent
    for folder in (here / "demo-server", here.parent / "kezhan-demo-server"):
        if (folder / "sync" / "server").is_dir():
            import sync

            sys.path.append(str(folder))
            sync.__path__.append(str(folder / "sync"))
            return


if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        _optional_parts()
        # A frozen build re-runs this executable for each spawned process (the provincial server's
        # upload workers); freeze_support turns such a run into that worker instead of a second CLI.
        import multiprocessing

        multiprocessing.freeze_support()
    raise SystemExit(main(_argv()))
