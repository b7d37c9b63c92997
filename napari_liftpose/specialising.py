"""The Lift widget's "Specialise for my keypoints", as plain functions (no Qt).

A pretrained model whose card ships its 3D pose library (``pose_library``) can be trained
again for exactly the keypoints the user tracks
(:func:`~liftpose_dlc.pretrained.specialise.specialise`): better 3D with few keypoints, at
the cost of about a minute of CPU once (the specialist is cached). The widget
(:mod:`napari_liftpose.widget`) wires these to its checkbox and its lift worker:

- :func:`can_specialise`: whether the picked lifter is such a model (the checkbox shows);
- :func:`run_specialise`: a generator for napari's ``thread_worker``: training runs in a
  helper thread (:func:`~napari_liftpose.training.run_observed`) and the generator
  yields a :class:`SpecialiseStep`
  (the status text and the samples done) as it goes; setting its ``cancel`` event (the
  widget's Cancel: superqt's ``quit()`` leaves a generator open) or closing it stops
  training at its next step, and nothing is cached. It returns a :class:`Specialist`;
- :func:`run_specialised_lift`: that, then :func:`~napari_liftpose.actions.run_lift` with
  the specialist (its ``(done, total)`` steps), returning the
  :class:`~napari_liftpose.actions.LiftOutcome`.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import attrs

from liftpose_dlc.errors import LiftPoseError
from napari_liftpose.training import run_observed

__all__ = [
    "SpecialiseRequest",
    "SpecialiseStep",
    "Specialist",
    "SpecialiseCancelled",
    "can_specialise",
    "specialise_tooltip",
    "run_specialise",
    "run_specialised_lift",
]


class SpecialiseCancelled(LiftPoseError):
    """Training a specialist was cancelled; nothing was cached."""


def can_specialise(model: Any) -> bool:
    """Whether ``model`` (a pretrained model's name or a model file) can be specialised.

    True for a pretrained model whose card ships its pose library (``pose_library``), as
    the built-in fly, mouse and rat models do.

    >>> can_specialise("mouse"), can_specialise("lifter.safetensors")  # doctest: +SKIP
    (True, False)
    """
    from napari_liftpose.actions import pretrained_card

    card = pretrained_card(model)
    return card is not None and bool(card.pose_library)


def specialise_tooltip() -> str:
    """What the checkbox does, where the specialists are cached."""
    from liftpose_dlc.pretrained.specialise import cache_folder

    return (
        "Train the pretrained model again for exactly the keypoints you track (the map "
        "above), from the 3D poses it ships: better 3D than the general model when you "
        "track few keypoints. It trains once, about a minute on one CPU core, and is cached "
        f"({cache_folder()}), so the next run with the same keypoints starts at once."
    )


@attrs.frozen
class SpecialiseRequest:
    """A specialist to train (or load from the cache), as the widget's fields give it.

    Attributes
    ----------
    model
        The pretrained model's name (``"mouse"``) or model file.
    keypoints
        The tracking's keypoint names.
    keypoint_map
        The user's corrections of the map (the table), ``{your name: model keypoint or
        None}``, or None.
    view
        The view hint of the lift (see :func:`~napari_liftpose.actions.prepare_lifter`).
    steps
        Training steps (None: the model's recipe).
    seed
        Seeds the training (the same seed gives the same, cached, specialist).
    """

    model: Any
    keypoints: Sequence[str]
    keypoint_map: Mapping[str, str | None] | None = None
    view: Any = None
    steps: int | None = None
    seed: int = 0


@attrs.frozen
class Specialist:
    """A specialist ready to lift with.

    Attributes
    ----------
    lifter
        The lifter (``lifter.specialised_for``; the model itself when every keypoint is
        tracked).
    model
        The pretrained model's name.
    tracked
        The model keypoints it is trained for.
    trained
        Whether it was trained now (False: loaded from the cache, or not needed).
    """

    lifter: Any
    model: str
    tracked: list[str]
    trained: bool

    @property
    def needed(self) -> bool:
        """False when every keypoint of the model is tracked (the model lifts as it is)."""
        return hasattr(self.lifter, "specialised_for")

    def describe(self) -> str:
        """E.g. ``the mouse model specialised for your 4 keypoints (from the cache)``."""
        if not self.needed:
            return f"the {self.model} model (you track all its keypoints: no specialist needed)"
        how = "trained now and cached" if self.trained else "from the cache"
        return f"the {self.model} model specialised for your {len(self.tracked)} keypoints ({how})"


@attrs.frozen
class SpecialiseStep:
    """A progress step of :func:`run_specialise`: the status text and the samples done.

    ``total`` is 0 while nothing is counted yet (the model is loaded, or the specialist
    comes from the cache); the last step carries the :class:`Specialist`.
    """

    text: str
    done: int = 0
    total: int = 0
    specialist: Specialist | None = None


def run_specialise(
    request: SpecialiseRequest,
    cancel: threading.Event | None = None,
    *,
    poll_s: float = 0.2,
) -> Generator[SpecialiseStep, None, Specialist]:
    """Train (or load from the cache) the specialist; yield its progress; return it.

    Yields a :class:`SpecialiseStep` with the status to show: ``Specialising the mouse
    model for your 4 keypoints (Snout, EarL, EarR, TailBase)…``, then ``Training the mouse
    model for your 4 keypoints: 35%…`` with the samples done after each training step, and
    last the :class:`Specialist`'s description.

    Parameters
    ----------
    request
        The model, the tracking's keypoint names and the user's map.
    cancel
        See :func:`~napari_liftpose.training.run_observed` (closing the generator cancels too).
    poll_s
        Seconds between yields while nothing progresses.

    Raises
    ------
    ConfigError
        If the model ships no pose library.
    KeypointError
        If too few of the keypoints match the model's to lift.
    SpecialiseCancelled
        When cancelled.
    """
    from liftpose_dlc.pretrained.specialise import specialise, tracked_model_keypoints
    from napari_liftpose.actions import load_lifter

    base = load_lifter(request.model)  # the model's name or file: its card comes with it
    card = getattr(getattr(base, "base", base), "card", None)
    name = str(getattr(card, "name", request.model))
    keypoints = list(request.keypoints)
    tracked = tracked_model_keypoints(base, keypoints, request.keypoint_map)
    what = f"the {name} model for your {len(tracked)} keypoints"
    step = SpecialiseStep(f"Specialising {what} ({', '.join(tracked)})…")
    yield step

    def train() -> Any:
        return specialise(
            base,
            keypoints,
            request.keypoint_map,
            steps=request.steps,
            seed=request.seed,
            verbose=False,
        )

    steps = run_observed(
        train,
        cancel,
        poll_s=poll_s,
        cancelled=lambda: SpecialiseCancelled(
            "training the specialist was cancelled: nothing was cached"
        ),
        name="liftpose-specialise",
    )
    try:
        while True:
            try:
                done, total = next(steps)
            except StopIteration as stop:
                lifter = stop.value
                break
            if total and (done, total) != (step.done, step.total):
                percent = int(100 * done / total)
                text = f"Training {what}: {percent}% (once, about a minute; then cached)…"
                step = SpecialiseStep(text, done, total)
            yield step  # a poll repeats the last step (the worker can stop at each)
    finally:
        steps.close()
    trained = bool(step.total)
    specialist = Specialist(
        lifter=lifter,
        model=name,
        tracked=list(getattr(lifter, "specialised_for", tracked)),
        trained=trained,
    )
    text = specialist.describe()
    yield SpecialiseStep(text[0].upper() + text[1:] + ".", specialist=specialist)
    return specialist


def run_specialised_lift(
    lift: Any,
    request: SpecialiseRequest,
    cancel: threading.Event | None = None,
    *,
    chunk: int | None = None,
) -> Generator[SpecialiseStep | tuple[int, int], None, Any]:
    """Specialise (:func:`run_specialise`), then lift with the specialist (:func:`run_lift`).

    Parameters
    ----------
    lift
        The :class:`~napari_liftpose.actions.LiftRequest` (its ``lifter`` is replaced by
        the specialist, matched to the tracking's names with the request's map and view).
    request
        The specialist to train.
    cancel
        See :func:`~napari_liftpose.training.run_observed`.
    chunk
        Frames per chunk of the lift (see :func:`~napari_liftpose.actions.run_lift`).

    Returns
    -------
    LiftOutcome
        What :func:`~napari_liftpose.actions.run_lift` returns.
    """
    from napari_liftpose.actions import prepare_lifter, run_lift

    specialist = yield from run_specialise(request, cancel)
    lifter, _ = prepare_lifter(
        specialist.lifter, list(request.keypoints), request.keypoint_map, view=request.view
    )
    return (yield from run_lift(attrs.evolve(lift, lifter=lifter), chunk=chunk))
