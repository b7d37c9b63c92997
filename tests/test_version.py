"""``__version__`` lives in ``liftpose_dlc/_version.py`` and matches ``pyproject.toml``."""

import re
from pathlib import Path

import liftpose_dlc
from liftpose_dlc._version import __version__


def test_version_matches_pyproject():
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    declared = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    assert declared is not None
    assert __version__ == declared.group(1) == liftpose_dlc.__version__
