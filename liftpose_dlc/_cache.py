"""The user cache folder of liftpose-dlc (the napari sample project, specialists).

``$LIFTPOSE_DLC_CACHE_DIR`` when set (tests, shared machines), otherwise the platform's
user cache (platformdirs' ``user_cache_dir("liftpose-dlc")`` when platformdirs is there,
``$XDG_CACHE_HOME/liftpose-dlc`` or ``~/.cache/liftpose-dlc`` otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

#: Environment variable naming another cache folder.
CACHE_ENV = "LIFTPOSE_DLC_CACHE_DIR"


def cache_root() -> Path:
    """The cache folder (not created here)."""
    custom = os.environ.get(CACHE_ENV)
    if custom:
        return Path(custom).expanduser()
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # pragma: no cover - platformdirs comes with napari, pooch, ...
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(xdg).expanduser() / "liftpose-dlc"
    return Path(user_cache_dir("liftpose-dlc"))
