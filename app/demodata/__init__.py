"""The demo province generator: a deterministic province document from a recipe of real places.

See docs/demo-data.md for the recipe, its sources and the scale knobs.
"""

from app.demodata.generator import (
    demo_province,
    demo_province_from_today,
    generate_province,
    initials,
    load_recipe,
)
from app.demodata.validate import check_province

__all__ = ["check_province", "demo_province", "demo_province_from_today", "generate_province", "initials", "load_recipe"]
