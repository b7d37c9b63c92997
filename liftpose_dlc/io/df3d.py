"""DeepFly3D 3D poses: ``df3d_result*.pkl`` and aligned ``pose_result*.pkl`` files.

These are pickles written by the user's own DeepFly3D (and its post-processing); they are
read with a restricted unpickler that only rebuilds containers and NumPy arrays (see
:mod:`liftpose_dlc.io._pickle`). Two layouts are supported:

- DeepFly3D's result dictionary: ``points3d`` ``(n_frames, 38, 3)`` (also
  ``points3d_wo_procrustes``), the camera dictionaries under integer keys (read them with
  :func:`liftpose_dlc.load_calibration`), ``points2d``, ``camera_ordering``. The 38
  keypoints get DeepFly3D's standard names, :data:`DF3D_KEYPOINTS`.
- The aligned pose files of DeepFly3D's post-processing (``df3dPostProcessing``, as used by
  NeuroMechFly's inverse kinematics): ``d[leg][segment]["raw_pos_aligned"]`` ``(n_frames,
  3)`` with legs ``RF_leg`` … ``LH_leg`` and segments ``Coxa``, ``Femur``, ``Tibia``,
  ``Tarsus``, ``Claw``; keypoints are named ``"<leg>_<segment>"`` (``RF_Coxa``) in the
  file's order.

DeepFly3D's 38 keypoints, in its ``skeleton_fly`` order: for each side, three legs of five
joints (body-coxa, coxa-femur, femur-tibia, tibia-tarsus, tarsus tip, named after the
segment that starts there: ``Coxa``, ``Femur``, ``Tibia``, ``Tarsus``, ``Claw``), the
antenna and three abdominal stripes. The first side is the one DeepFly3D's cameras 0–2 see,
which its skeleton and LiftPose3D's fly examples colour as the right legs (``RF``, ``RM``,
``RH``); pass ``keypoints=`` to name them otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io._keypoints import array_keypoint_names
from liftpose_dlc.io._pickle import is_pickle, load_pickle
from liftpose_dlc.io.registry import Format, Probe
from liftpose_dlc.poses import Poses, Source

__all__ = ["DF3D_KEYPOINTS", "DF3D_LEG_SEGMENTS", "load_df3d"]

DF3D_LEG_SEGMENTS = ("Coxa", "Femur", "Tibia", "Tarsus", "Claw")


def _side(side: str) -> list[str]:
    legs = [f"{side}{leg}_{seg}" for leg in "FMH" for seg in DF3D_LEG_SEGMENTS]
    return [*legs, f"{side}_Antenna", f"{side}_Stripe_1", f"{side}_Stripe_2", f"{side}_Stripe_3"]


#: DeepFly3D's 38 keypoint names in the order of ``points3d``.
DF3D_KEYPOINTS: tuple[str, ...] = tuple(_side("R") + _side("L"))


def load_df3d(
    path: str | os.PathLike,
    *,
    keypoints: Sequence[str] | None = None,
    key: str | None = None,
    fps: float | None = None,
) -> Poses:
    """Read DeepFly3D 3D poses from a ``df3d_result*.pkl`` or aligned ``pose_result*.pkl``.

    Parameters
    ----------
    path
        The pickle, from the user's own DeepFly3D run.
    keypoints
        For a ``points3d`` array: names of its keypoints (default :data:`DF3D_KEYPOINTS`
        when it has 38). For the aligned leg dictionaries: the keypoints to keep, in order.
    key
        For a result dictionary: the array to read (default ``"points3d"``). For the aligned
        leg dictionaries: the per-segment entry (default ``"raw_pos_aligned"``).
    fps
        Frame rate to record (DeepFly3D does not store it).

    Returns
    -------
    Poses
        ``(n_frames, 1, n_keypoints, 3)``, in DeepFly3D's units.

    Raises
    ------
    FileFormatError
        If the pickle holds neither layout, or arrays of the wrong shape.
    KeypointError
        If ``keypoints`` does not match the file.
    """
    p = check_file(path, "DeepFly3D pose file")
    data = load_pickle(p, "DeepFly3D pose file")
    if not isinstance(data, Mapping):
        raise FileFormatError(f"{p}: expected a DeepFly3D dictionary, got {type(data).__name__}")
    source = Source(p, "DeepFly3D")
    if "points3d" in data or (key is not None and key in data):
        name = key or "points3d"
        if name not in data:
            raise FileFormatError(f"{p}: no {name!r} in the file; keys: {sorted(map(str, data))}")
        arr = np.asarray(data[name], dtype=np.float64)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise FileFormatError(
                f"{p}: {name!r} must be (n_frames, n_keypoints, 3), got {arr.shape}"
            )
        n_kp = arr.shape[1]
        names = array_keypoint_names(
            keypoints,
            n_kp,
            f"{p}[{name!r}]",
            default=DF3D_KEYPOINTS if n_kp == len(DF3D_KEYPOINTS) else None,
            missing=f"{n_kp} keypoints, not DeepFly3D's 38; pass their names as keypoints=[...]",
        )
        return Poses(arr, names, fps=fps, source=source)

    entry = key or "raw_pos_aligned"
    names, columns = [], []
    for leg, segments in data.items():
        if not isinstance(segments, Mapping):
            continue
        for seg, values in segments.items():
            if not isinstance(values, Mapping) or entry not in values:
                continue
            arr = np.asarray(values[entry], dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != 3:
                raise FileFormatError(
                    f"{p}: {leg}/{seg}/{entry} must be (n_frames, 3), got {arr.shape}"
                )
            leg_name = str(leg).removesuffix("_leg")
            names.append(f"{leg_name}_{seg}")
            columns.append(arr)
    if not columns:
        raise FileFormatError(
            f"{p}: neither a DeepFly3D result ('points3d') nor aligned leg dictionaries "
            f"(d[leg][segment][{entry!r}]); top-level keys: {sorted(map(str, data))[:12]}"
        )
    lengths = {c.shape[0] for c in columns}
    if len(lengths) != 1:
        raise FileFormatError(f"{p}: the segments have different numbers of frames: {lengths}")
    poses = Poses(np.stack(columns, axis=1), names, fps=fps, source=source)
    return poses if keypoints is None else poses.select(keypoints=list(keypoints))


# ------------------------------------------------------------------------- registry
def _sniff(probe: Probe) -> bool:
    return is_pickle(probe.head)


FORMATS = (
    Format(
        name="df3d",
        description="DeepFly3D .pkl",
        sniff=_sniff,
        read=load_df3d,
        dims=(3,),
        names_keypoints=True,
        software=("DeepFly3D",),
    ),
)
