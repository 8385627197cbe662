"""A package's names loaded on first use (PEP 562): the window's start path imports a driver package
without paying for its serial, image or printer libraries until one of its names is asked for."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_getattr(package: str, where: Mapping[str, str], namespace: dict) -> Callable[[str], object]:
    """The package's module-level ``__getattr__``: ``where`` maps each exported name to the module
    that defines it; a name is imported once and then kept in ``namespace`` (the package's globals)."""

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
