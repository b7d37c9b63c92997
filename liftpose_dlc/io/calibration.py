"""Camera calibration readers: Anipose, DeepFly3D, DeepLabCut 3D, DANNCE/Label3D, arrays.

:func:`load_calibration` picks the format from the file's content and returns the cameras
by name, in the file's order. The ``cameras_from_*`` functions take the same data already
in memory (a dictionary, a MATLAB struct, arrays).

Conventions: every reader returns :class:`~liftpose_dlc.Camera` objects in OpenCV's
convention (``Xc = R X + t``, pixels ``K @ distort(Xc / Zc)``), whatever the file's own
convention. Pixel coordinates keep the calibration's origin: MATLAB-made calibrations
(DANNCE/Label3D) count pixels from 1, OpenCV-made ones from 0.

Pickles (DeepFly3D ``df3d_result*.pkl``, DeepLabCut ``stereo_params.pickle``) are loaded with
a restricted unpickler that only rebuilds containers and NumPy arrays; they should come from
the user's own DeepFly3D or DeepLabCut run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc._filesystem import check_file
from liftpose_dlc.cameras import Camera, rodrigues_to_matrix
from liftpose_dlc.errors import CalibrationError, MissingDependencyError
from liftpose_dlc.io._hdf5 import HDF5_SIGNATURE
from liftpose_dlc.io._pickle import is_pickle, load_pickle

__all__ = [
    "load_calibration",
    "cameras_from_anipose",
    "cameras_from_df3d",
    "cameras_from_dlc_stereo",
    "cameras_from_dannce",
    "cameras_from_arrays",
]

_FORMATS = (
    "Anipose/aniposelib calibration.toml, DeepFly3D df3d_result*.pkl, DeepLabCut 3D "
    "stereo_params.pickle, DANNCE/Label3D *.mat with 'params', or an .npz with K, R (or "
    "rvec), t arrays"
)


@reader_boundary("calibration file", CalibrationError)
def load_calibration(
    path: str | os.PathLike,
    *,
    cameras: Sequence[str] | None = None,
    camera_names: Sequence[str] | None = None,
    frame: Literal["rectified", "camera1"] = "rectified",
) -> dict[str, Camera]:
    """Read a camera calibration; the format is detected from the file's content.

    Supported formats:

    - Anipose / aniposelib ``calibration.toml``: one table per camera with ``name``,
      ``size``, ``matrix``, ``distortions``, ``rotation`` (Rodrigues) and ``translation``.
    - DeepFly3D ``df3d_result*.pkl`` (or any pickle of its camera dictionaries): integer
      keys holding ``R``, ``tvec``, ``intr``, ``distort``. Cameras are named
      ``camera_0``, ``camera_1``, ... unless ``camera_names`` is given.
    - DeepLabCut 3D ``stereo_params.pickle``: ``cameraMatrix1/2``, ``distCoeffs1/2``, ``R``,
      ``T`` for a camera pair (see :func:`cameras_from_dlc_stereo` for ``frame``).
    - DANNCE / Label3D ``.mat`` files holding ``params`` (and ``camnames``): MATLAB v7.3
      (read with h5py) or v5 (needs SciPy).
    - ``.npz`` with arrays ``K``, ``R`` (or ``R_cam`` or ``rvec``), ``t`` (or ``tvec``) and
      optionally ``dist`` (or ``distort``), ``names``, ``image_size`` (or ``image_size_wh``).

    Parameters
    ----------
    path
        The calibration file.
    cameras
        Names of the cameras to return, in this order; default all, in the file's order.
    camera_names
        Names for formats whose cameras have none (DeepFly3D, DeepLabCut pairs whose key
        cannot be split, arrays without ``names``).
    frame
        DeepLabCut stereo pairs only: the world frame (see :func:`cameras_from_dlc_stereo`).

    Returns
    -------
    dict of str to Camera
        The cameras by name.

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    CalibrationError
        If the file is not a calibration, lacks a field, holds invalid matrices, or a
        camera asked for in ``cameras`` is absent.
    MissingDependencyError
        For a MATLAB v5 file without SciPy, or a TOML file on Python 3.10 without tomli.

    Examples
    --------
    >>> cams = load_calibration("calibration.toml")  # doctest: +SKIP
    >>> cams["top"].project(points_3d)  # doctest: +SKIP
    """
    p = check_file(path, "calibration file")
    with open(p, "rb") as fh:
        head = fh.read(1024)
    if head.startswith(b"MATLAB") or head.startswith(HDF5_SIGNATURE):
        out = _load_mat(p, head, camera_names)
    elif is_pickle(head):
        out = _load_calibration_pickle(p, camera_names, frame)
    elif head.startswith(b"PK"):
        out = _load_npz(p, camera_names)
    elif head.startswith(b"\x93NUMPY"):
        raise CalibrationError(
            f"{p}: a single .npy array is not a calibration; save K, R, t in an .npz, or "
            f"use cameras_from_arrays. Supported: {_FORMATS}"
        )
    else:
        out = _load_toml(p)
    return _select(out, cameras, str(p))


def _select(cams: dict[str, Camera], wanted: Sequence[str] | None, where: str) -> dict[str, Camera]:
    if not cams:
        raise CalibrationError(f"{where}: no cameras found")
    if wanted is None:
        return cams
    if isinstance(wanted, str):
        wanted = [wanted]
    missing = [w for w in wanted if w not in cams]
    if missing:
        raise CalibrationError(
            f"{where}: cameras not found: {missing}; available cameras: {list(cams)}"
        )
    return {w: cams[w] for w in wanted}


def _check_unique(names: Sequence[str], where: str) -> None:
    dupes = sorted({n for n in names if list(names).count(n) > 1})
    if dupes:
        raise CalibrationError(f"{where}: camera names must be unique; repeated: {dupes}")


def _names(default: list[str], given: Sequence[str] | None, where: str) -> list[str]:
    if given is None:
        return default
    given = [str(n) for n in given]
    if len(given) != len(default):
        raise CalibrationError(
            f"{where}: {len(given)} camera names given for {len(default)} cameras"
        )
    _check_unique(given, where)
    return given


def _field(d: Mapping[str, Any], keys: Iterable[str], what: str, where: str) -> Any:
    keys = list(keys)
    for k in keys:
        if k in d:
            return d[k]
    raise CalibrationError(
        f"{where}: missing field {' / '.join(repr(k) for k in keys)} ({what}); "
        f"fields present: {sorted(map(str, d))}"
    )


# ------------------------------------------------------------------------------- Anipose
def _load_toml(path: Path) -> dict[str, Camera]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as exc:
            raise MissingDependencyError(
                "reading a TOML calibration on Python 3.10 needs tomli: pip install tomli"
            ) from exc
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CalibrationError(
            f"{path}: not a recognised calibration file ({exc}). Supported: {_FORMATS}"
        ) from exc
    return cameras_from_anipose(data, where=str(path))


def cameras_from_anipose(
    data: Mapping[str, Any], *, where: str = "Anipose calibration"
) -> dict[str, Camera]:
    """Cameras from a parsed Anipose/aniposelib calibration (``toml.load(calibration.toml)``).

    Each table other than ``metadata`` is a camera with ``name``, ``size`` (width, height),
    ``matrix`` (K), ``distortions`` (OpenCV's order), ``rotation`` (Rodrigues vector) and
    ``translation`` (world → camera). Fisheye cameras (``fisheye = true``) use another lens
    model and are refused.
    """
    cams: dict[str, Camera] = {}
    tables = {k: v for k, v in data.items() if k != "metadata" and isinstance(v, Mapping)}
    if not tables:
        raise CalibrationError(
            f"{where}: no camera tables found (expected [cam_0], [cam_1], ... with matrix, "
            f"rotation, translation). Supported: {_FORMATS}"
        )
    for key, table in tables.items():
        w = f"{where} [{key}]"
        if table.get("fisheye", False):
            raise CalibrationError(f"{w}: fisheye cameras are not supported")
        name = str(table.get("name", key))
        K = _field(table, ["matrix"], "intrinsic matrix", w)
        dist = _field(table, ["distortions"], "distortion coefficients", w)
        rvec = _field(table, ["rotation"], "Rodrigues rotation vector", w)
        t = _field(table, ["translation"], "translation", w)
        if name in cams:
            raise CalibrationError(f"{where}: camera name {name!r} appears twice")
        try:
            R = rodrigues_to_matrix(rvec)
        except CalibrationError as exc:
            raise CalibrationError(f"{w}: {exc}") from None
        cams[name] = Camera(K, R, t, dist, table.get("size"), name)
    return cams


# ------------------------------------------------------------------------------- pickles
def _load_calibration_pickle(
    path: Path, camera_names: Sequence[str] | None, frame: Literal["rectified", "camera1"]
) -> dict[str, Camera]:
    data = load_pickle(path, "calibration pickle")
    if not isinstance(data, Mapping):
        raise CalibrationError(
            f"{path}: the pickle holds a {type(data).__name__}, not a calibration dictionary"
        )
    if any(isinstance(v, Mapping) and "cameraMatrix1" in v for v in data.values()):
        return cameras_from_dlc_stereo(
            data, camera_names=camera_names, frame=frame, where=str(path)
        )
    if _df3d_keys(data):
        return cameras_from_df3d(data, camera_names=camera_names, where=str(path))
    raise CalibrationError(
        f"{path}: a pickle without camera parameters (keys: {sorted(map(str, data))[:12]}); "
        f"expected DeepLabCut's stereo_params.pickle or a DeepFly3D result. Supported: {_FORMATS}"
    )


def _df3d_keys(d: Mapping[Any, Any]) -> list[Any]:
    keys = []
    for k, v in d.items():
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and isinstance(v, Mapping):
            keys.append(k)
    return sorted(keys)


def cameras_from_df3d(
    d: Mapping[Any, Any],
    *,
    camera_names: Sequence[str] | None = None,
    where: str = "DeepFly3D calibration",
) -> dict[str, Camera]:
    """Cameras from DeepFly3D's camera dictionaries.

    Parameters
    ----------
    d
        A DeepFly3D result (``df3d_result*.pkl`` loaded by the user) or calibration: integer
        keys (camera ids) mapping to dictionaries with ``R`` (3 × 3, world → camera),
        ``tvec``, ``intr`` (K) and optionally ``distort`` (OpenCV's order).
    camera_names
        Names in the order of the sorted camera ids; default ``camera_<id>``.
    where
        Used in error messages.
    """
    keys = _df3d_keys(d)
    if not keys:
        raise CalibrationError(
            f"{where}: no DeepFly3D cameras found (integer keys holding R, tvec, intr)"
        )
    names = _names([f"camera_{int(k)}" for k in keys], camera_names, where)
    cams = {}
    for k, name in zip(keys, names, strict=True):
        c = d[k]
        w = f"{where} camera {int(k)}"
        R = _field(c, ["R"], "rotation matrix", w)
        t = _field(c, ["tvec"], "translation", w)
        K = _field(c, ["intr"], "intrinsic matrix", w)
        dist = c.get("distort")
        cams[name] = Camera(K, R, t, dist, None, name)
    return cams


def _split_pair(key: str) -> list[str] | None:
    cuts = [i for i, ch in enumerate(key) if ch == "-"]
    if len(cuts) == 1:
        return [key[: cuts[0]], key[cuts[0] + 1 :]]
    even = [i for i in cuts if i == len(key) - 1 - i]
    if len(even) == 1:
        i = even[0]
        return [key[:i], key[i + 1 :]]
    return None


def cameras_from_dlc_stereo(
    stereo_params: Mapping[str, Any],
    *,
    camera_names: Sequence[str] | None = None,
    frame: Literal["rectified", "camera1"] = "rectified",
    where: str = "DeepLabCut stereo parameters",
) -> dict[str, Camera]:
    """The two cameras of a DeepLabCut 3D project's ``stereo_params.pickle``.

    DeepLabCut stores one entry per camera pair, keyed ``"<camera1>-<camera2>"``, with
    ``cameraMatrix1/2``, ``distCoeffs1/2``, ``R``, ``T`` (camera 1 → camera 2, as OpenCV's
    ``stereoCalibrate``), the rectification ``R1`` and ``image_shape``.

    Parameters
    ----------
    stereo_params
        The loaded pickle.
    camera_names
        The two camera names (DeepLabCut's ``camera_names`` in its 3D ``config.yaml``):
        they pick the pair ``f"{a}-{b}"`` and name the cameras. Default: the only pair in
        the file, its key split at the middle ``-`` (``"camera-1-camera-2"``).
    frame
        The world frame of the returned cameras. ``"rectified"`` (default): the rectified
        frame of camera 1 (``R1``), the frame of DeepLabCut's triangulated
        ``*_DLC_3D.h5`` outputs. ``"camera1"``: camera 1's own frame.
    where
        Used in error messages.
    """
    pairs = {
        str(k): v
        for k, v in stereo_params.items()
        if isinstance(v, Mapping) and "cameraMatrix1" in v
    }
    if not pairs:
        raise CalibrationError(f"{where}: no camera pair with cameraMatrix1 found")
    if camera_names is not None:
        names = [str(n) for n in camera_names]
        if len(names) != 2:
            raise CalibrationError(f"{where}: a stereo pair needs 2 camera names, got {names}")
        key = f"{names[0]}-{names[1]}"
        if key not in pairs:
            raise CalibrationError(f"{where}: no pair {key!r}; pairs in the file: {list(pairs)}")
    else:
        if len(pairs) != 1:
            raise CalibrationError(
                f"{where}: {len(pairs)} camera pairs {list(pairs)}; pass camera_names=[a, b]"
            )
        key = next(iter(pairs))
        split = _split_pair(key)
        if split is None:
            raise CalibrationError(
                f"{where}: cannot tell the two camera names from the pair key {key!r}; pass "
                "camera_names=[a, b] (DeepLabCut's camera_names)"
            )
        names = split
    if names[0] == names[1]:
        raise CalibrationError(f"{where}: the two cameras have the same name {names[0]!r}")
    pair = pairs[key]
    w = f"{where} pair {key!r}"
    K1 = _field(pair, ["cameraMatrix1"], "camera 1 intrinsics", w)
    K2 = _field(pair, ["cameraMatrix2"], "camera 2 intrinsics", w)
    d1 = _field(pair, ["distCoeffs1"], "camera 1 distortion", w)
    d2 = _field(pair, ["distCoeffs2"], "camera 2 distortion", w)
    R = Camera(np.eye(3), _field(pair, ["R"], "rotation camera 1 → 2", w), np.zeros(3), name=w).R
    T = np.asarray(_field(pair, ["T"], "translation camera 1 → 2", w), dtype=np.float64).reshape(-1)
    if frame == "rectified":
        R1 = Camera(
            np.eye(3), _field(pair, ["R1"], "rectification of camera 1", w), np.zeros(3), name=w
        ).R
        rot1, rot2 = R1.T, R @ R1.T
    elif frame == "camera1":
        rot1, rot2 = np.eye(3), R
    else:
        raise ValueError(f"frame must be 'rectified' or 'camera1', got {frame!r}")
    shapes = pair.get("image_shape")
    sizes: list[Any] = [None, None]
    if shapes is not None and len(shapes) == 2:
        sizes = [tuple(np.asarray(s).reshape(-1)[:2]) for s in shapes]  # (width, height)
    return {
        names[0]: Camera(K1, rot1, np.zeros(3), d1, sizes[0], names[0]),
        names[1]: Camera(K2, rot2, T, d2, sizes[1], names[1]),
    }


# ------------------------------------------------------------------------------- DANNCE
def cameras_from_dannce(
    params: Any,
    *,
    camera_names: Sequence[str] | None = None,
    where: str = "DANNCE params",
) -> dict[str, Camera]:
    """Cameras from DANNCE / Label3D ``params`` (one struct per camera).

    Each struct has ``K`` (3 × 3), ``r`` (3 × 3), ``t`` (1 × 3), ``RDistort`` (k1, k2[, k3])
    and ``TDistort`` (p1, p2), in MATLAB's row-vector convention ``[x y 1] ~ [X Y Z 1]
    [r; t] K``. They are converted to OpenCV's: ``K = Kᵀ``, ``R = rᵀ``, ``t = t``,
    distortion ``(k1, k2, p1, p2, k3)``. Pixel coordinates stay MATLAB's (1-based).

    Parameters
    ----------
    params
        A sequence of per-camera mappings (``scipy.io.loadmat(..., simplify_cells=True)
        ["params"]``) or objects with those attributes.
    camera_names
        Names in order (Label3D's ``camnames``); default ``Camera1``, ``Camera2``, ...
    where
        Used in error messages.
    """
    if isinstance(params, Mapping) or hasattr(params, "K"):
        params = [params]
    params = (
        list(np.asarray(params, dtype=object).reshape(-1))
        if not isinstance(params, list)
        else params
    )
    if not params:
        raise CalibrationError(f"{where}: no cameras in params")
    names = _names([f"Camera{i + 1}" for i in range(len(params))], camera_names, where)
    cams = {}
    for i, (p, name) in enumerate(zip(params, names, strict=True)):
        w = f"{where} camera {i + 1} ({name})"
        d = (
            p
            if isinstance(p, Mapping)
            else {k: getattr(p, k) for k in dir(p) if not k.startswith("_")}
        )
        K = np.asarray(_field(d, ["K"], "intrinsic matrix", w), dtype=np.float64)
        r = np.asarray(_field(d, ["r", "R"], "rotation matrix", w), dtype=np.float64)
        t = np.asarray(_field(d, ["t"], "translation", w), dtype=np.float64).reshape(-1)
        rd = np.asarray(d.get("RDistort", d.get("RDist", np.zeros(3))), dtype=np.float64).reshape(
            -1
        )
        td = np.asarray(d.get("TDistort", d.get("TDist", np.zeros(2))), dtype=np.float64).reshape(
            -1
        )
        if rd.size not in (2, 3) or td.size != 2:
            raise CalibrationError(
                f"{w}: RDistort must have 2 or 3 values and TDistort 2, got {rd} and {td}"
            )
        k3 = rd[2] if rd.size == 3 else 0.0
        dist = [rd[0], rd[1], td[0], td[1], k3]
        if K.shape != (3, 3) or r.shape != (3, 3):
            raise CalibrationError(f"{w}: K and r must be 3 × 3, got {K.shape} and {r.shape}")
        cams[name] = Camera(K.T, r.T, t, dist, None, name)
    return cams


def _load_mat(path: Path, head: bytes, camera_names: Sequence[str] | None) -> dict[str, Camera]:
    is_v73 = head.startswith(HDF5_SIGNATURE) or head[512:520] == HDF5_SIGNATURE
    names: Sequence[str] | None
    if is_v73:
        params, names = _read_mat73(path)
    else:
        try:
            import scipy.io
        except ModuleNotFoundError as exc:
            raise MissingDependencyError(
                f"{path}: reading a MATLAB v5 .mat file needs SciPy (pip install scipy); "
                "or save it from MATLAB with save(..., '-v7.3')"
            ) from exc
        try:
            mat = scipy.io.loadmat(path, simplify_cells=True)
        except (ValueError, TypeError, OSError) as exc:
            raise CalibrationError(f"{path}: not a readable MATLAB file ({exc})") from exc
        if "params" not in mat:
            raise CalibrationError(
                f"{path}: no 'params' variable (DANNCE/Label3D cameras); variables: "
                f"{sorted(k for k in mat if not k.startswith('__'))}"
            )
        params = mat["params"]
        names = mat.get("camnames")
        if isinstance(names, str):
            names = [names]
    if camera_names is not None:
        names = camera_names
    elif names is not None:
        names = [str(n) for n in np.asarray(names, dtype=object).reshape(-1)]
    return cameras_from_dannce(params, camera_names=names, where=str(path))


def _read_mat73(path: Path) -> tuple[list[dict[str, np.ndarray]], list[str] | None]:
    import h5py

    def matlab(ds: Any) -> np.ndarray:
        # h5py sees MATLAB's column-major arrays transposed
        return np.asarray(ds[()]).T

    def struct(group: Any) -> dict[str, np.ndarray]:
        return {k: matlab(group[k]) for k in group if isinstance(group[k], h5py.Dataset)}

    def text(ds: Any) -> str:
        return "".join(chr(int(c)) for c in np.asarray(ds[()]).reshape(-1))

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise CalibrationError(f"{path}: not a readable MATLAB v7.3 / HDF5 file ({exc})") from exc
    with f:
        if "params" not in f:
            raise CalibrationError(
                f"{path}: no 'params' variable (DANNCE/Label3D cameras); variables: "
                f"{sorted(k for k in f if not k.startswith('#'))}"
            )
        node = f["params"]
        params: list[dict[str, np.ndarray]] = []
        if isinstance(node, h5py.Dataset) and node.dtype == h5py.ref_dtype:
            for ref in np.asarray(node[()]).T.reshape(-1):
                params.append(struct(f[ref]))
        elif isinstance(node, h5py.Group):
            fields = {k: node[k] for k in node}
            refs = [
                v
                for v in fields.values()
                if isinstance(v, h5py.Dataset) and v.dtype == h5py.ref_dtype
            ]
            if refs:  # struct array: each field holds one reference per camera
                n = refs[0].size
                for i in range(n):
                    params.append(
                        {
                            k: matlab(f[np.asarray(v[()]).T.reshape(-1)[i]])
                            for k, v in fields.items()
                        }
                    )
            else:
                params.append(struct(node))
        else:
            raise CalibrationError(f"{path}: 'params' is neither a cell array nor a struct")
        names = None
        if "camnames" in f:
            cn = f["camnames"]
            if cn.dtype == h5py.ref_dtype:
                names = [text(f[r]) for r in np.asarray(cn[()]).T.reshape(-1)]
            else:
                names = [text(cn)]
    return params, names


# ------------------------------------------------------------------------------- arrays
def cameras_from_arrays(
    K: Any,
    R: Any = None,
    t: Any = None,
    dist: Any = None,
    *,
    rvec: Any = None,
    names: Sequence[str] | None = None,
    sizes: Any = None,
) -> dict[str, Camera]:
    """Cameras from stacked arrays (one row per camera).

    Parameters
    ----------
    K
        Intrinsics, ``(n, 3, 3)``, or ``(3, 3)`` shared by all cameras.
    R
        World → camera rotations ``(n, 3, 3)``; or give ``rvec`` ``(n, 3)`` instead.
    t
        Translations ``(n, 3)``.
    dist
        Distortion coefficients ``(n, k)`` or ``(k,)`` shared; default none.
    rvec
        Rodrigues vectors instead of ``R``.
    names
        Camera names; default ``cam_0``, ``cam_1``, ...
    sizes
        Image sizes ``(n, 2)`` or one ``(width, height)`` shared.

    Examples
    --------
    >>> import numpy as np
    >>> cams = cameras_from_arrays(np.eye(3), np.stack([np.eye(3)] * 2), [[0, 0, 5], [1, 0, 5]])
    >>> list(cams)
    ['cam_0', 'cam_1']
    """
    if (R is None) == (rvec is None):
        raise CalibrationError("give exactly one of R (rotation matrices) and rvec (Rodrigues)")
    if t is None:
        raise CalibrationError("the translations t are missing")
    t_arr = np.asarray(t, dtype=np.float64)
    if t_arr.ndim == 1:
        t_arr = t_arr[None]
    n = t_arr.shape[0]
    if R is not None:
        R_arr = np.asarray(R, dtype=np.float64)
        if R_arr.ndim == 2:
            R_arr = R_arr[None]
    else:
        rv = np.asarray(rvec, dtype=np.float64).reshape(-1, 3)
        R_arr = np.stack([rodrigues_to_matrix(r) for r in rv])
    K_arr = np.asarray(K, dtype=np.float64)
    if K_arr.ndim == 2:
        K_arr = np.broadcast_to(K_arr, (n, 3, 3))
    d_arr = None if dist is None else np.asarray(dist, dtype=np.float64)
    if d_arr is not None and d_arr.ndim == 1:
        d_arr = np.broadcast_to(d_arr, (n, d_arr.size))
    s_arr = None if sizes is None else np.asarray(sizes)
    if s_arr is not None and s_arr.ndim == 1:
        s_arr = np.broadcast_to(s_arr, (n, s_arr.size))
    for what, arr in (("K", K_arr), ("R", R_arr), ("dist", d_arr), ("sizes", s_arr)):
        if arr is not None and arr.shape[0] != n:
            raise CalibrationError(f"{what} has {arr.shape[0]} cameras but t has {n}")
    names = _names([f"cam_{i}" for i in range(n)], names, "arrays")
    return {
        name: Camera(
            K_arr[i],
            R_arr[i],
            t_arr[i],
            None if d_arr is None else d_arr[i],
            None if s_arr is None else s_arr[i],
            name,
        )
        for i, name in enumerate(names)
    }


def _load_npz(path: Path, camera_names: Sequence[str] | None) -> dict[str, Camera]:
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CalibrationError(f"{path}: not a readable .npz file ({exc})") from exc
    with npz:
        keys = set(npz.files)

        def pick(*options: str) -> Any:
            for o in options:
                if o in keys:
                    return npz[o]
            return None

        K = pick("K", "intrinsics", "matrix")
        R = pick("R", "R_cam", "rotation_matrices")
        rvec = pick("rvec", "rvecs", "rotation")
        t = pick("t", "tvec", "T", "translation")
        if K is None or t is None or (R is None and rvec is None):
            raise CalibrationError(
                f"{path}: an .npz calibration needs arrays K, R (or R_cam, rvec) and t (or "
                f"tvec); arrays present: {sorted(keys)}"
            )
        dist = pick("dist", "distort", "distortions", "distCoeffs")
        names = camera_names
        if names is None:
            stored = pick("names", "camera_names", "camnames", "cam_names")
            names = None if stored is None else [str(s) for s in stored.reshape(-1)]
        sizes = pick("image_size", "image_size_wh", "size", "sizes")
    try:
        return cameras_from_arrays(
            K,
            R if R is not None else None,
            t,
            dist,
            rvec=None if R is not None else rvec,
            names=names,
            sizes=sizes,
        )
    except CalibrationError as exc:
        raise CalibrationError(f"{path}: {exc}") from None
