import multiprocessing

from app.cli import main

if __name__ == "__main__":
    # A frozen build re-runs this executable for each spawned process (the provincial server's
    # upload workers); freeze_support turns such a run into that worker instead of a second CLI.
    multiprocessing.freeze_support()
    raise SystemExit(main())
