"""Where the real data lives (``../shared/data``) and how tests reach one of its files.

Imported by tests as ``from realdata import shared_file`` (this folder is on ``sys.path``
because of its conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# resolved: the code under test resolves paths, so a shared/ that is a symbolic link compares equal
SHARED_DATA = Path(
    os.environ.get("LIFTPOSE_SHARED_DATA", REPO.parent / "shared" / "data")
).resolve()


def require_shared_data() -> Path:
    """The real-data folder; skip the calling test with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data folder {SHARED_DATA} is absent (it lives beside the repository in "
            "development and CI; set LIFTPOSE_SHARED_DATA to point elsewhere)"
        )
    return SHARED_DATA


def shared_file(shared_data: Path, relative: str) -> Path:
    """A file inside the real-data folder; skip if this one file is missing."""
    path = shared_data / relative
    if not path.exists():
        pytest.skip(f"real data file {path} is absent")
    return path
