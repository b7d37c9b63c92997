"""Progress bars (tqdm) that disappear with ``verbose=False``."""

from __future__ import annotations

from typing import Any


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def write(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(
    verbose: bool, *, total: int | None, desc: str, unit: str = "frame", leave: bool = True
) -> Any:
    """A tqdm bar, or an object with the same methods that shows nothing."""
    if not verbose:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=leave, dynamic_ncols=True)


def say(message: str, verbose: bool) -> None:
    """Print a line without breaking progress bars."""
    if verbose:
        from tqdm.auto import tqdm

        tqdm.write(message)
