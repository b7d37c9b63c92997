"""A worker process of the reader fuzzer: reads one JSON case per line, answers one per line.

A case is ``{"reader": NAME, "path": FILE, "kwargs": {...}}``; the answer is ``{"ok": true}``
or ``{"ok": false, "type": "...", "liftpose": bool, "message": "..."}``. A hang or a crash of
this interpreter is seen by the parent (no answer in time, or end of output). The parent
restarts the worker after every damaged HDF5 file that raised an error (see
``fuzzing.run_cases``), so the worker starts light: torch is imported only for ``Lifter.load``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings


def _lifter_load(path: str, **kwargs: object) -> object:
    import torch  # only here: a worker that reads no model starts without torch

    torch.set_num_threads(1)
    from liftpose_dlc.lifter.lifter import Lifter

    return Lifter.load(path, **kwargs)


def _readers() -> dict:
    import liftpose_dlc as lp
    from liftpose_dlc.io.calibration import load_calibration
    from liftpose_dlc.io.dlc_config import read_dlc_config
    from liftpose_dlc.io.poses3d import load_poses_3d

    return {
        "load_poses": lp.load_poses,
        "load_poses_3d": load_poses_3d,
        "load_calibration": load_calibration,
        "Lifter.load": _lifter_load,
        "read_dlc_config": read_dlc_config,
    }


def main() -> None:
    warnings.simplefilter("ignore")
    from liftpose_dlc.errors import LiftPoseError

    readers = _readers()
    readers["_crash"] = lambda path: os.abort()  # the harness's self-test
    readers["_hang"] = lambda path: time.sleep(3600)
    out = sys.stdout
    sys.stdout = sys.stderr  # readers that print must not break the protocol
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        case = json.loads(line)
        try:
            readers[case["reader"]](case["path"], **case.get("kwargs", {}))
            answer = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which judges
            answer = {
                "ok": False,
                "type": f"{type(exc).__module__}.{type(exc).__name__}",
                "liftpose": isinstance(exc, LiftPoseError),
                "message": str(exc)[:2000],
            }
        print(json.dumps(answer), file=out, flush=True)


if __name__ == "__main__":
    main()
