"""Loading other programs' pickles (DeepFly3D results, DeepLabCut stereo parameters) safely.

A pickle can run arbitrary code when it is loaded. liftpose-dlc never writes pickles, but
DeepFly3D and DeepLabCut 3D do, so the readers for those files accept them with a
restricted unpickler: only plain containers, numbers, strings and NumPy arrays may be
rebuilt. A file that asks for anything else is refused with a clear error instead of
being executed. NumPy's own unpickling is not used either: it trusts the pickled state, and a
damaged one corrupts memory so that a later read, of any file, crashes the interpreter
(found by the reader fuzzer). Arrays, dtypes and scalars are rebuilt from checked parts.
These files should come from the user's own DeepFly3D or DeepLabCut runs.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

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
    "codecs": {"encode"},  # numpy arrays pickled with protocol 2 by Python 3
    "_codecs": {"encode"},
}

#: Largest array rebuilt from a pickle (bytes).
_MAX_ARRAY_BYTES = 1 << 32


class _DTypeState:
    """A NumPy dtype being unpickled (``numpy.dtype(spec, align, copy)`` then its state).

    NumPy's own ``dtype.__setstate__`` trusts the state: a damaged one (an item size of -1
    for ``S8``) makes a dtype that corrupts memory later, in another reader. So the dtype
    is rebuilt from its spec and checked state by :func:`_dtype`, after the load.
    """

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        self.spec = spec
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _ArrayState:
    """A NumPy array being unpickled (``_reconstruct(ndarray, (0,), b"b")`` then its state)."""

    def __init__(self, *args: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _Scalar:
    """``numpy.core.multiarray.scalar(dtype, bytes)``: a NumPy scalar, rebuilt after the load."""

    def __init__(self, dtype: Any, data: Any = None) -> None:
        self.dtype, self.data = dtype, data


class _FromBuffer:
    """``numpy.core.numeric._frombuffer(buffer, dtype, shape, order)`` (protocol 5)."""

    def __init__(self, buffer: Any, dtype: Any, shape: Any, order: Any) -> None:
        self.buffer, self.dtype, self.shape, self.order = buffer, dtype, shape, order


_NUMPY: dict[str, dict[str, type]] = {
    "numpy": {"ndarray": _ArrayState, "dtype": _DTypeState},
    "numpy.core.multiarray": {"_reconstruct": _ArrayState, "scalar": _Scalar},
    "numpy._core.multiarray": {"_reconstruct": _ArrayState, "scalar": _Scalar},
    "numpy.core.numeric": {"_frombuffer": _FromBuffer},
    "numpy._core.numeric": {"_frombuffer": _FromBuffer},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        if name in _NUMPY.get(module, {}):
            return _NUMPY[module][name]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _dtype(value: Any) -> np.dtype:
    """A NumPy dtype from an unpickled one: a plain (not structured) dtype, its state checked."""
    if isinstance(value, np.dtype):
        return value
    if not isinstance(value, _DTypeState) or not isinstance(value.spec, str):
        raise ValueError("a NumPy dtype that is not one")
    dtype = np.dtype(value.spec)
    if dtype.kind == "O" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"a NumPy dtype {value.spec!r} of objects or fields")
    state = value.state
    if state is not None:
        if not isinstance(state, tuple) or len(state) not in (8, 9):
            raise ValueError("a damaged NumPy dtype state")
        endian, subarray, names, fields, elsize = state[1:6]
        if subarray is not None or names is not None or fields is not None:
            raise ValueError("a NumPy dtype with fields or a sub-array")
        if not isinstance(elsize, int) or not -1 <= elsize <= 1 << 20:
            raise ValueError(f"a NumPy dtype of item size {elsize!r}")
        if dtype.itemsize == 0 and elsize > 0:  # flexible: S, U, V of a length
            per = 4 if dtype.kind == "U" else 1
            if elsize % per:
                raise ValueError(f"a {dtype.kind} dtype of {elsize} bytes")
            dtype = np.dtype(f"{dtype.kind}{elsize // per}")
        elif elsize not in (-1, dtype.itemsize):
            raise ValueError(f"a {value.spec!r} dtype of item size {elsize}")
        if endian in ("<", ">") and dtype.byteorder not in ("|",):
            dtype = dtype.newbyteorder(endian)
        elif endian not in ("<", ">", "|", "="):
            raise ValueError(f"a NumPy dtype of byte order {endian!r}")
    return dtype


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(
        isinstance(n, int) and 0 <= n < 1 << 40 for n in value
    ):
        raise ValueError(f"a NumPy array of shape {value!r}")
    return value


def _from_bytes(data: Any, dtype: np.dtype, shape: tuple[int, ...], fortran: bool) -> np.ndarray:
    raw = bytes(data)
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if dtype.itemsize == 0 or n * dtype.itemsize != len(raw):
        raise ValueError(
            f"a NumPy array of {n} x {dtype.itemsize} bytes holds {len(raw)} bytes of data"
        )
    if len(raw) > _MAX_ARRAY_BYTES:
        raise ValueError(f"a NumPy array of {len(raw)} bytes")
    flat = np.frombuffer(raw, dtype=dtype).copy()
    return flat.reshape(shape, order="F" if fortran else "C")


def _array(value: _ArrayState) -> np.ndarray:
    state = value.state
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise ValueError("a damaged NumPy array state")
    shape, dtype, fortran, data = state[-4:]
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError("a NumPy array of Python objects")
    return _from_bytes(data, _dtype(dtype), _shape(shape), bool(fortran))


def _build(value: Any, depth: int = 0) -> Any:
    """``value`` with every unpickled NumPy part rebuilt (checked) as a real array or dtype."""
    if depth > 200:
        raise ValueError("containers nested too deep")
    if isinstance(value, _ArrayState):
        return _array(value)
    if isinstance(value, _DTypeState):
        return _dtype(value)
    if isinstance(value, _Scalar):
        dtype = _dtype(value.dtype)
        return _from_bytes(value.data, dtype, (), False)[()]
    if isinstance(value, _FromBuffer):
        order = value.order
        return _from_bytes(value.buffer, _dtype(value.dtype), _shape(value.shape), order == "F")
    if isinstance(value, dict):
        out = value.copy()  # the same mapping type (OrderedDict, defaultdict)
        out.clear()
        for k, v in value.items():
            out[_build(k, depth + 1)] = _build(v, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_build(v, depth + 1) for v in value)
    return value


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
            return _build(_RestrictedUnpickler(fh, encoding="latin1").load())
    except pickle.UnpicklingError as exc:
        raise FileFormatError(
            f"{path}: cannot read it as a {what} ({exc}). Only pickles of plain containers "
            "and NumPy arrays are accepted; if you trust the file, load it yourself with "
            "pickle and pass the dictionary to the matching cameras_from_* / reader function"
        ) from exc
    except (EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as exc:
        raise FileFormatError(f"{path}: not a readable {what} ({exc})") from exc
