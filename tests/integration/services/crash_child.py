"""The child of the crash test: sells one ticket after another until it is killed.

It writes ``READY`` once the database is open, then each ticket id after its sale committed
(unbuffered), so the parent knows exactly which sales were acknowledged to a clerk. The test forks
it (imports already loaded, so fifty-odd kills fit in seconds); ``python -m`` runs it by hand.
"""

from __future__ import annotations

import random
import sys
from datetime import timedelta

from app.errors import RuleViolation
from app.services import PassengerIn, PaymentIn, sell
from app.store.engine import open_database
from tests.integration.services.conftest import CLERK, DOC_KEY, SIGNING_KEY, TERMINAL_ID
from tests.integration.store.tiny_province import HOME, NINGBO, NOW, resident_id


def main(path: str, departures: list[str], write=None) -> None:
    write = write or _stdout
    from app.services import Terminal

    db = open_database(path)
    terminal = Terminal(station_code=HOME, terminal_id=TERMINAL_ID, signing_key=SIGNING_KEY, doc_hash_key=DOC_KEY)
    rng = random.Random()
    write("READY")
    now = NOW + timedelta(minutes=1)
    index = 0
    while index < len(departures):
        birth = f"{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        party = [
            PassengerIn("full", "乘客", doc_number=resident_id(birth=birth, serial=f"{rng.randint(0, 999):03d}"))
            for _ in range(rng.choice((1, 1, 1, 2, 3)))
        ]
        try:
            result = sell(db, terminal, clerk=CLERK, departure_id=departures[index], stop=NINGBO, passengers=party,
                          payment=PaymentIn("cash", tendered=50000), now=now)
        except RuleViolation as exc:
            if exc.code in ("SOLD_OUT", "NOT_ENOUGH_SEATS"):
                index += 1
            continue
        write("\n".join(result.ticket_ids))
    write("DONE")


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
