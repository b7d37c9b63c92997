"""netCDF files in movement's poses dataset layout, through xarray.

A file written by :func:`save_netcdf` is a ``movement`` poses dataset
(``movement.validators.datasets.ValidPosesInputs``): open it with
``xarray.open_dataset(path)`` and use it with movement's functions as it is.

- ``position`` ``(time, space, keypoints, individuals)``, ``space`` = ``x, y[, z]``;
- ``confidence`` ``(time, keypoints, individuals)``;
- coordinates ``time`` (seconds when fps is known, else frame numbers), ``space``,
  ``keypoints``, ``individuals``;
- movement's attributes ``ds_type="poses"``, ``source_software``, ``fps`` (when known),
  ``time_unit``, and liftpose-dlc's: ``units``, ``frame``, ``liftpose_dlc_version``,
  the lifter and the 2D source (:mod:`liftpose_dlc.io.metadata`), ``skeleton`` (JSON list
  of name pairs) and ``source_file``.

Written with the ``h5netcdf`` engine (netCDF-4, an HDF5 file) when installed, else
``netCDF4``. Both are in the ``netcdf`` extra: ``pip install "liftpose-dlc[netcdf]"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_dlc._filesystem import atomic_path, check_file
from liftpose_dlc.errors import FileFormatError, MissingDependencyError, PosesValidationError
from liftpose_dlc.io.metadata import fields_from_attrs, output_attrs
from liftpose_dlc.io.registry import Format
from liftpose_dlc.poses import Poses, Source

__all__ = ["save_netcdf", "load_netcdf", "sniff_netcdf", "DIMS", "FORMATS"]

INSTALL_HINT = 'pip install "liftpose-dlc[netcdf]"'
#: movement's dimension names of ``position``, in order.
DIMS = ("time", "space", "keypoints", "individuals")
_SPACE = ("x", "y", "z")


def _xarray() -> Any:
    try:
        import xarray as xr
    except ImportError as e:
        raise MissingDependencyError(
            f"netCDF files are read and written with xarray: {INSTALL_HINT}"
        ) from e
    return xr


def _engine() -> str:
    for engine, module in (("h5netcdf", "h5netcdf"), ("netcdf4", "netCDF4")):
        try:
            __import__(module)
        except ImportError:
            continue
        return engine
    raise MissingDependencyError(f"writing netCDF needs h5netcdf or netCDF4: {INSTALL_HINT}")


def to_dataset(poses: Poses) -> Any:
    """The ``movement`` poses dataset (an :class:`xarray.Dataset`) of ``poses``.

    See the module docstring for its variables and attributes.
    """
    xr = _xarray()
    if not isinstance(poses, Poses):
        raise PosesValidationError(f"expected a Poses, got {type(poses).__name__}")
    n = poses.n_frames
    time: np.ndarray
    if poses.fps is not None:
        time = np.arange(n, dtype=np.float64) / poses.fps
        time_unit = "seconds"
    else:
        time = np.arange(n, dtype=np.int64)
        time_unit = "frames"
    attrs: dict[str, Any] = {
        "ds_type": "poses",
        "source_software": poses.source.software or "unknown",
        "time_unit": time_unit,
        **output_attrs(poses),
        "skeleton": json.dumps(
            [[poses.keypoints[a], poses.keypoints[b]] for a, b in poses.edge_indices]
        ),
    }
    if poses.source.path is not None:
        attrs["source_file"] = poses.source.path
    return xr.Dataset(
        data_vars={
            # (frames, individuals, keypoints, space) -> (time, space, keypoints, individuals)
            "position": (DIMS, np.transpose(poses.data, (0, 3, 2, 1))),
            "confidence": (
                ("time", "keypoints", "individuals"),
                poses.confidence.transpose(0, 2, 1),
            ),
        },
        coords={
            "time": time,
            "space": list(_SPACE[: poses.n_dims]),
            "keypoints": list(poses.keypoints),
            "individuals": list(poses.individuals),
        },
        attrs=attrs,
    )


def save_netcdf(poses: Poses, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write poses as a netCDF file in movement's poses dataset layout.

    Parameters
    ----------
    poses
        2D or 3D poses.
    path
        Destination (conventionally ``.nc``).
    overwrite
        Replace an existing file; otherwise :class:`~liftpose_dlc.errors.OutputExistsError`.

    Returns
    -------
    Path
        The file written (atomically: a failure leaves no partial file).

    Raises
    ------
    MissingDependencyError
        If xarray or a netCDF engine (h5netcdf, netCDF4) is not installed.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> poses = Poses(np.zeros((4, 1, 2, 3)), ["head", "tail"], fps=30, units="mm")
    >>> out = save_netcdf(poses, pathlib.Path(tempfile.mkdtemp()) / "poses.nc")
    >>> import xarray as xr
    >>> xr.open_dataset(out).position.dims
    ('time', 'space', 'keypoints', 'individuals')
    """
    ds = to_dataset(poses)
    engine = _engine()
    dest = Path(path).expanduser()
    with atomic_path(dest, overwrite) as tmp:
        ds.to_netcdf(tmp, engine=engine)
    return dest


def load_netcdf(path: str | os.PathLike) -> Poses:
    """Read a netCDF file in movement's poses dataset layout (ours, or one movement saved).

    Parameters
    ----------
    path
        The ``.nc`` file.

    Returns
    -------
    Poses
        ``data`` (frames, individuals, keypoints, 2 or 3), ``confidence``, names, fps,
        skeleton, units, frame and provenance as stored;
        ``source=Source(path, <source_software attribute>)``.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If it is not a netCDF file or not a movement poses dataset (the message says which
        variable or dimension is missing).
    """
    xr = _xarray()
    p = check_file(path, "netCDF file")
    try:
        with xr.open_dataset(p) as opened:
            ds = opened.load()
    except Exception as exc:  # noqa: BLE001 - xarray raises many kinds for foreign files
        raise FileFormatError(f"{p}: cannot be opened as a netCDF file: {exc}") from exc
    if "position" not in ds.data_vars:
        raise FileFormatError(
            f"{p}: not a movement poses dataset: no 'position' variable "
            f"(variables: {sorted(map(str, ds.data_vars))})"
        )
    missing = [d for d in DIMS if d not in ds["position"].dims]
    if missing:
        raise FileFormatError(
            f"{p}: 'position' lacks the dimension(s) {missing}; movement's layout is {DIMS}"
        )
    data = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    conf = None
    if "confidence" in ds.data_vars:
        conf = ds["confidence"].transpose("time", "individuals", "keypoints").values
    attrs = dict(ds.attrs)
    fps = attrs.get("fps")
    try:
        fps = float(fps) if fps is not None and float(fps) > 0 else None
    except (TypeError, ValueError):
        fps = None
    keypoints = [str(k) for k in ds["keypoints"].values]
    skeleton = _skeleton(attrs.get("skeleton"), keypoints)
    software = attrs.get("source_software")
    try:
        return Poses(
            data,
            keypoints,
            individuals=[str(i) for i in ds["individuals"].values],
            confidence=conf,
            skeleton=skeleton,
            fps=fps,
            source=Source(p, str(software) if software else None),
            **fields_from_attrs(attrs),
        )
    except PosesValidationError as exc:
        raise FileFormatError(f"{p}: not a valid poses dataset: {exc}") from exc


def _skeleton(raw: Any, keypoints: list[str]) -> list[tuple[str, str]]:
    if raw is None:
        return []
    try:
        edges = json.loads(str(raw))
    except ValueError:
        return []
    known = set(keypoints)
    return [
        (str(e[0]), str(e[1]))
        for e in edges
        if isinstance(e, list) and len(e) == 2 and e[0] in known and e[1] in known
    ]


def sniff_netcdf(probe: Any) -> bool:
    """Whether a file (a registry ``Probe``) is a netCDF poses dataset.

    netCDF-3 files start with ``CDF``; netCDF-4 files are HDF5 with a ``position`` variable.
    """
    if probe.head.startswith(b"CDF"):
        return True
    return bool(probe.is_hdf5 and "position" in probe.h5.get("datasets", {}))


#: The format declarations of this module (for ``liftpose_dlc.io.registry``).
FORMATS = (
    Format(
        name="netcdf",
        description="netCDF in movement's poses dataset layout (.nc)",
        sniff=sniff_netcdf,
        read=load_netcdf,
        dims=(2, 3),
        software=(),
        write=save_netcdf,
        suffixes=(".nc",),
        write_as="netcdf",
    ),
)
