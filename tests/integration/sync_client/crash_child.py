"""The child of the SIGKILL test: opens an enrolled terminal database and runs the sync loop until it
is killed. Prints READY once the client is built (unbuffered), so the parent knows it is going."""

from __future__ import annotations

import sys
import threading

from app.store.engine import open_database
from sync.client import SyncClient


def main(path: str, url: str) -> None:
    db = open_database(path)
    client = SyncClient(db, server_url=url, batch_size=10, backoff_base=0.05, backoff_cap=0.2, interval=0.2,
                        timeout=(1.0, 5.0))
    print("READY", flush=True)
    client.run(threading.Event())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
