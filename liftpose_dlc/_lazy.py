"""Lazy public names for a package: ``import liftpose_dlc`` stays fast (no torch, no pandas)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any


def lazy_exports(
    package: str,
    namespace: MutableMapping[str, Any],
    exports: Mapping[str, str],
    submodules: Iterable[str] = (),
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for a package whose names load on use.

    Parameters
    ----------
    package
        The package's name (``__name__``), for error messages and submodule imports.
    namespace
        The package's ``globals()``: a name is cached there the first time it is used.
    exports
        Public name -> the module that defines it.
    submodules
        Names of submodules reachable as attributes (``package.name``).

    Examples
    --------
    >>> __all__, __getattr__, __dir__ = lazy_exports(  # doctest: +SKIP
    ...     __name__, globals(), {"Poses": "liftpose_dlc.poses"}
    ... )
    """
    subs = set(submodules)
    names = sorted([*exports, *subs])

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's name
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            namespace[name] = value
            return value
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:  # noqa: N807 - the module hook's name
        return list(names)

    return names, __getattr__, __dir__
