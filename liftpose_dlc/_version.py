"""The package version, in a module of its own so that modules can read it cheaply.

Keep it equal to ``version`` in ``pyproject.toml``.
"""

__version__ = "0.1.0"
