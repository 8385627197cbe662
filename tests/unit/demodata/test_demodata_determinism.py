import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from app.demodata import generate_province, load_recipe

from .conftest import START

ROOT = Path(__file__).resolve().parents[3]


def dump(doc) -> str:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


def test_same_arguments_give_the_same_bytes():
    kwargs = dict(start_date=START, days=4, departures_per_day=200, destinations=500, seed=7)
    assert dump(generate_province(**kwargs)) == dump(generate_province(**kwargs))


def test_same_bytes_across_processes_with_different_hash_seeds():
    # Set or dict ordering that leaked into the output would differ between these two runs.
    script = (
        "import hashlib, json, datetime; from app.demodata import generate_province; "
        "d = generate_province(start_date=datetime.date(2026, 11, 24), days=2, departures_per_day=150, destinations=300); "
        "print(hashlib.sha256(json.dumps(d, ensure_ascii=False, sort_keys=True).encode()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    local = generate_province(start_date=START, days=2, departures_per_day=150, destinations=300)
    digests.add(hashlib.sha256(dump(local).encode()).hexdigest())
    assert len(digests) == 1


def test_another_seed_gives_another_timetable_and_towns_but_the_same_real_places():
    a = generate_province(start_date=START, days=1, departures_per_day=120, destinations=200, seed=1)
    b = generate_province(start_date=START, days=1, departures_per_day=120, destinations=200, seed=2)
    assert [d["time"] for d in a["departures"]] != [d["time"] for d in b["departures"]]
    real_a = {s["code"]: s for s in a["stations"] if s["code"].endswith("001")}
    real_b = {s["code"]: s for s in b["stations"] if s["code"].endswith("001")}
    assert real_a == real_b
    towns = lambda doc: {s["name"] for s in doc["stations"] if not s["code"].endswith("001")}  # noqa: E731
    assert towns(a) != towns(b)


def test_a_day_does_not_depend_on_how_many_days_were_asked_for():
    short = generate_province(start_date=START, days=2)
    long = generate_province(start_date=START, days=5)
    assert long["departures"][: len(short["departures"])] == short["departures"]
    later = generate_province(start_date=START + timedelta(days=1), days=1)
    day2 = [d for d in long["departures"] if d["date"] == (START + timedelta(days=1)).isoformat()]
    assert later["departures"] == day2


def test_the_recipe_passed_in_is_not_changed():
    recipe = load_recipe()
    before = dump(recipe)
    generate_province(recipe, start_date=START, days=1, destinations=150)
    assert dump(recipe) == before
