"""flygym's Spotlight motion-capture clip (``spotlight_behavior_clip.npz``) as 3D poses.

The clip holds 3D leg keypoints of a freely walking fly in a body-fixed ("ego") frame, mm:
+x anterior, +y left, +z up. ``keypoints`` lists each point as ``(leg, parent, child)``:
per leg the ``thorax-coxa``, ``coxa-trochanterfemur``, ``trochanterfemur-tibia`` and
``tibia-tarsus1`` joints and the ``tarsus5`` tip. They are named here with DeepFly3D's
convention (each joint after the segment that starts there): ``LF_Coxa``, ``LF_Femur``,
``LF_Tibia``, ``LF_Tarsus``, ``LF_Claw``.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.poses import Poses, Source

__all__ = ["load_spotlight", "FLYGYM_JOINT_NAMES"]

#: flygym's joint (parent, child) or tip name -> DeepFly3D's segment name.
FLYGYM_JOINT_NAMES = {
    ("thorax", "coxa"): "Coxa",
    ("coxa", "trochanterfemur"): "Femur",
    ("trochanterfemur", "tibia"): "Tibia",
    ("tibia", "tarsus1"): "Tarsus",
    ("tarsus5", None): "Claw",
}


def load_spotlight(
    path: str | os.PathLike, which: Literal["rawpred", "fwdkin"] = "rawpred"
) -> Poses:
    """Read flygym's Spotlight clip as 3D :class:`Poses` (mm, the fly's ego frame).

    Parameters
    ----------
    path
        ``spotlight_behavior_clip.npz``.
    which
        ``"rawpred"``: the raw 3D keypoint predictions (default); ``"fwdkin"``: their
        inverse-kinematics fit played back by forward kinematics (fixed segment lengths).

    Returns
    -------
    Poses
        ``(n_frames, 1, 30, 3)`` with DeepFly3D names (``LF_Coxa`` ...), each leg a chain
        in the skeleton, ``fps`` from ``data_fps``.

    Raises
    ------
    FileFormatError
        If the arrays are missing or a keypoint is not a known leg joint.
    """
    p = check_file(path, "flygym Spotlight clip")
    try:
        z = np.load(p, allow_pickle=True)  # ``keypoints`` is an object array of names
    except (ValueError, OSError) as err:
        raise FileFormatError(f"{p}: not a readable .npz: {err}") from None
    key = f"{which}_egoxyz"
    if key not in z.files or "keypoints" not in z.files:
        raise FileFormatError(f"{p}: needs {key!r} and 'keypoints'; found {z.files}")
    data = np.asarray(z[key], dtype=np.float64)
    kps = np.asarray(z["keypoints"], dtype=object)
    if data.ndim != 3 or data.shape[2] != 3 or data.shape[1] != len(kps):
        raise FileFormatError(f"{p}: {key!r} has shape {data.shape} for {len(kps)} keypoints")
    names = []
    for leg, parent, child in kps:
        seg = FLYGYM_JOINT_NAMES.get((str(parent), None if child is None else str(child)))
        if seg is None:
            raise FileFormatError(f"{p}: unknown keypoint {(leg, parent, child)}")
        names.append(f"{str(leg).upper()}_{seg}")
    edges = []
    for a, b in zip(names[:-1], names[1:], strict=True):
        if a[:2] == b[:2]:
            edges.append((a, b))
    fps = float(z["data_fps"]) if "data_fps" in z.files else None
    return Poses(data[:, None], names, skeleton=edges, fps=fps, source=Source(p, "flygym"))
