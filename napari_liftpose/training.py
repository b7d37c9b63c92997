"""What the Train panel does, as plain functions (no Qt): train or fine-tune a lifter.

The panel (:mod:`napari_liftpose.train_widget`) wires these to its fields and a napari
worker thread:

- :class:`TrainRequest`: a 3D library (3D pose files, or Poses) and the cameras that film
  the animal (a calibration file; none: virtual cameras all around), optionally a
  pretrained model to **fine-tune** (``init``: a zoo name such as ``"mouse"``, or a model
  file), and where the lifter goes: a DeepLabCut project (``<project>/liftpose/``, as
  :func:`~liftpose_dlc.train_dlc_project` saves it) or a model file
  (:func:`~liftpose_dlc.workflow.training.train_from_library`).
- :func:`run_train`: a generator for napari's ``thread_worker``: training runs in a helper
  thread and the generator yields ``(samples done, total samples)`` as it goes
  (:func:`~liftpose_dlc.lifter.session.observe_training`); setting the ``cancel`` event
  stops training at the next step (:class:`TrainingCancelled`), and nothing is saved: the
  project's previous lifter stays as it was. It returns a :class:`TrainOutcome`.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from liftpose_dlc.errors import ConfigError, LiftPoseError

__all__ = [
    "TrainRequest",
    "TrainOutcome",
    "TrainingCancelled",
    "run_train",
    "run_observed",
    "train_summary",
]

T = TypeVar("T")


class TrainingCancelled(LiftPoseError):
    """Training was cancelled by the user; nothing was saved."""


@attrs.frozen
class TrainRequest:
    """A training run, as the Train panel's fields give it.

    Attributes
    ----------
    library
        The 3D library: a 3D pose file, several, or :class:`~liftpose_dlc.Poses`.
    cameras
        A calibration file (aniposelib ``calibration.toml``, ...) with the library in its
        world frame, or None: virtual cameras looking from every direction.
    project
        A DeepLabCut project's ``config.yaml``: the lifter is trained for its bodyparts and
        saved in ``<project>/liftpose/``. Or None, and ``model_path`` is given.
    model_path
        The model file to write (without ``project``); the lifter lifts the library's
        keypoints.
    init
        A pretrained model to fine-tune (a zoo name, a model file), or None: from scratch.
    epochs
        Training epochs (None: the default schedule; shorter for a fine-tune).
    units
        The library's units (``"mm"``), recorded with the lifter.
    overwrite
        Replace an existing lifter.
    """

    library: Any
    cameras: str | os.PathLike | None = None
    project: str | os.PathLike | None = None
    model_path: str | os.PathLike | None = None
    init: str | os.PathLike | None = None
    epochs: int | None = None
    units: str | None = None
    overwrite: bool = False
    options: dict[str, Any] = attrs.field(factory=dict)
    """Other training options (``roots``, ``angle_ranges``, ``linear_size``, ``lr``, ...)."""


@attrs.frozen
class TrainOutcome:
    """A finished training run: the lifter, where it was saved, its loss curve."""

    lifter: Any
    model_path: Path
    request: TrainRequest

    @property
    def history(self) -> list[Any]:
        """The per-epoch results (``loss_train``, ``err_val``, ...) of the run."""
        return list(getattr(self.lifter, "history", []) or [])


def _check(request: TrainRequest) -> None:
    if request.project is None and request.model_path is None:
        raise ConfigError("say where the lifter goes: a DeepLabCut project or a model file")
    if request.library is None or (isinstance(request.library, str) and not request.library):
        raise ConfigError("pick a 3D library (3D pose files) to train on")
    if request.epochs is not None and int(request.epochs) < 1:
        raise ConfigError(f"epochs must be at least 1, got {request.epochs}")


def _train(request: TrainRequest) -> TrainOutcome:
    """Train as requested (blocking; in the caller's thread)."""
    options: dict[str, Any] = dict(request.options)
    if request.epochs is not None:
        options["epochs"] = int(request.epochs)
    common: dict[str, Any] = {
        "units": request.units or None,
        "overwrite": request.overwrite,
        "verbose": False,
        "init": request.init or None,
        **options,
    }
    cameras = request.cameras or None
    if request.project is not None:
        from liftpose_dlc.workflow.dlc_project import project_lifter_path, train_dlc_project

        lifter = train_dlc_project(request.project, request.library, cameras, **common)
        path = project_lifter_path(request.project)
    else:
        from liftpose_dlc.workflow.training import train_from_library

        assert request.model_path is not None
        path = Path(request.model_path)
        lifter = train_from_library(request.library, cameras, model_path=path, **common)
    return TrainOutcome(lifter=lifter, model_path=Path(path), request=request)


def run_train(
    request: TrainRequest,
    cancel: threading.Event | None = None,
    *,
    poll_s: float = 0.2,
) -> Generator[tuple[int, int], None, TrainOutcome]:
    """Train in a helper thread; yield ``(samples done, total)``; return a :class:`TrainOutcome`.

    Yields ``(0, 0)`` while the library is read and the training pairs are made (every
    ``poll_s`` seconds, so a napari worker can stop), then the samples done after each
    training step (the total counts every epoch's samples).

    Parameters
    ----------
    request
        What to train.
    cancel
        Set it to stop training after the current step: the generator then raises
        :class:`TrainingCancelled` and nothing is saved. Closing the generator sets it too.
    poll_s
        Seconds between yields while nothing progresses.

    Raises
    ------
    TrainingCancelled
        When ``cancel`` was set.
    LiftPoseError
        Bad input (a library that cannot be read, keypoints the library lacks, an
        existing lifter without ``overwrite``), as the training functions raise it.
    """
    _check(request)
    return (
        yield from run_observed(
            lambda: _train(request),
            cancel,
            poll_s=poll_s,
            cancelled=lambda: TrainingCancelled("training was cancelled: nothing was saved"),
            name="liftpose-train",
        )
    )


def run_observed(
    func: Callable[[], T],
    cancel: threading.Event | None = None,
    *,
    poll_s: float = 0.2,
    cancelled: Callable[[], BaseException] = lambda: TrainingCancelled(
        "training was cancelled: nothing was saved"
    ),
    name: str = "liftpose-train",
) -> Generator[tuple[int, int], None, T]:
    """Run ``func()`` in a helper thread; yield its training's ``(samples done, total)``.

    Training in ``func`` reports each step (:func:`~liftpose_dlc.lifter.session.observe_training`);
    the generator yields the latest ``(done, total)`` every ``poll_s`` seconds (``(0, 0)``
    before the first step, so that a napari worker can stop it at any time) and returns
    what ``func`` returned. The Train panel's training and the Lift panel's specialist
    both run through it.

    Parameters
    ----------
    func
        What to run.
    cancel
        Set it to stop training at its next step: the generator then raises
        ``cancelled()``. Closing the generator sets it too (and waits for the helper
        thread).
    poll_s
        Seconds between yields while nothing progresses.
    cancelled
        Makes the exception raised on cancelling (default: :class:`TrainingCancelled`).
    name
        The helper thread's name.

    Raises
    ------
    Exception
        ``cancelled()`` when ``cancel`` was set; what ``func`` raised.
    """
    from liftpose_dlc.lifter.session import observe_training

    cancel = cancel if cancel is not None else threading.Event()
    steps: queue.Queue[tuple[int, int]] = queue.Queue()
    result: dict[str, Any] = {}

    def observe(done: int, total: int) -> None:
        if cancel.is_set():
            raise cancelled()
        steps.put((done, total))

    def target() -> None:
        try:
            with observe_training(observe):
                result["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the generator's thread
            result["error"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    try:
        last = (0, 0)
        while thread.is_alive() or not steps.empty():
            try:
                last = steps.get(timeout=poll_s)
                while not steps.empty():  # only the latest matters
                    last = steps.get_nowait()
            except queue.Empty:
                pass
            yield last
    finally:
        if thread.is_alive():  # the generator was closed (worker quit): stop training
            cancel.set()
            thread.join()
    if "error" in result:
        raise result["error"]
    if cancel.is_set():
        raise cancelled()
    return result["value"]


def train_summary(outcome: TrainOutcome) -> str:
    """One line for the status: where the lifter went and its last losses."""
    history = outcome.history
    text = f"Trained {outcome.model_path.name}"
    if history:
        last = history[-1]
        parts = [f"{len(history)} epochs"]
        loss = getattr(last, "loss_train", None)
        if loss is not None:
            parts.append(f"training loss {loss:.3g}")
        err = getattr(last, "err_val", None)
        if err is not None and err == err:  # not NaN
            parts.append(f"validation error {err:.3g}")
        text += " (" + ", ".join(parts) + ")"
    return text + f": {outcome.model_path}"


def library_files(text: str) -> Sequence[str]:
    """The library files of the panel's field: paths separated by ``;``."""
    return [part.strip() for part in text.split(";") if part.strip()]
