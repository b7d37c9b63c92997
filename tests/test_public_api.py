import subprocess
import sys

import liftpose_dlc as lp


def test_every_public_name_resolves():
    missing = [name for name in lp.__all__ if getattr(lp, name, None) is None]
    assert missing == []
    assert callable(lp.lift_dlc_project)
    assert lp.Poses.__module__ == "liftpose_dlc.poses"


def test_import_is_light():
    # `import liftpose_dlc` must not import torch (the lifter is loaded on first use)
    code = "import sys, liftpose_dlc; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
