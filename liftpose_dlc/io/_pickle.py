"""Loading other programs' pickles (DeepFly3D results, DeepLabCut stereo parameters) safely.

A pickle can run arbitrary code when it is loaded. liftpose-dlc never writes pickles, but
DeepFly3D and DeepLabCut 3D do, so the readers for those files accept them with a
restricted unpickler: only plain containers, numbers, strings and NumPy arrays may be
rebuilt. A file that asks for anything else is refused with a clear error instead of
being executed. These files should come from the user's own DeepFly3D or DeepLabCut runs.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from liftpose_dlc.errors import FileFormatError

__all__ = ["is_pickle", "load_pickle"]

_ALLOWED: dict[str, set[str]] = {
    "builtins": {
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "complex",
        "slice",
        "range",
        "bytearray",
    },
    "collections": {"OrderedDict", "defaultdict"},
    "numpy": {"ndarray", "dtype"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
    "codecs": {"encode"},  # numpy arrays pickled with protocol 2 by Python 3
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, ()) or module == "numpy.dtypes":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def is_pickle(head: bytes) -> bool:
    """Whether the first bytes of a file look like a pickle (protocol 2 or later)."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def load_pickle(path: Path, what: str) -> Any:
    """Load a pickle holding only containers, numbers, strings and NumPy arrays.

    Raises
    ------
    FileFormatError
        If the file is not a pickle, is truncated, or references other objects.
    """
    try:
        with open(path, "rb") as fh:
            return _RestrictedUnpickler(fh, encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise FileFormatError(
            f"{path}: cannot read it as a {what} ({exc}). Only pickles of plain containers "
            "and NumPy arrays are accepted; if you trust the file, load it yourself with "
            "pickle and pass the dictionary to the matching cameras_from_* / reader function"
        ) from exc
    except (EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as exc:
        raise FileFormatError(f"{path}: not a readable {what} ({exc})") from exc
