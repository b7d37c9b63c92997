"""What every option dataclass of the lifter shares: names, building from keywords, a dict.

:class:`~liftpose_dlc.lifter.model.ModelOptions`,
:class:`~liftpose_dlc.lifter.encoder.EncoderOptions` and
:class:`~liftpose_dlc.lifter.session.TrainOptions` derive from :class:`OptionsMixin`.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, ClassVar, TypeVar

from liftpose_dlc.errors import ConfigError

__all__ = ["OptionsMixin"]

_T = TypeVar("_T", bound="OptionsMixin")


class OptionsMixin:
    """Shared methods of a frozen option dataclass; ``kind`` names it in error messages."""

    kind: ClassVar[str] = "options"

    @classmethod
    def names(cls) -> list[str]:
        """The option names."""
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def from_kwargs(cls: type[_T], **kwargs: Any) -> _T:
        """Build from keyword arguments; an unknown key is a :class:`ConfigError`."""
        unknown = sorted(set(kwargs) - set(cls.names()))
        if unknown:
            raise ConfigError(f"unknown {cls.kind} options {unknown}; known: {cls.names()}")
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        """The options as a JSON-friendly dictionary."""
        return asdict(self)  # type: ignore[call-overload]
