"""Printing results: JSON for scripts (``--json``), aligned text for people."""

from __future__ import annotations

import json
import sys
from typing import Any


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def emit(args, data: Any, text: str | None = None) -> None:
    if getattr(args, "json", False) or text is None:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
