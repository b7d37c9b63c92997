"""Many videos at once: one :mod:`dask.distributed` task per video.

:func:`~liftpose_dlc.workflow.lift_dlc_project` with ``scheduler=...`` (or ``workers=N``)
sends each video that needs lifting to a Dask cluster: a :class:`distributed.LocalCluster`
on this machine by default, or any running scheduler (an address such as
``"tcp://10.0.0.5:8786"``, a :class:`distributed.Client`, or a cluster object such as
dask-jobqueue's ``SLURMCluster``). Each worker loads the lifter once and keeps it for the
videos it is given; it writes each 3D file itself, atomically (a temporary file renamed
at the end), so an interrupted batch leaves only finished outputs, which a rerun skips.
A video that fails is reported with its error; the others are lifted.

Needs the ``cluster`` extra: ``pip install "liftpose-dlc[cluster]"``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liftpose_dlc.errors import ConfigError

__all__ = ["lift_on_cluster", "open_client", "worker_lifter", "ProjectJob"]

#: Lifters loaded by this process as a worker: ``{key: lifter}`` (see :func:`worker_lifter`).
_WORKER_LIFTERS: dict[Any, Any] = {}
_LOCK = threading.Lock()


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            'lifting on a Dask cluster needs dask.distributed: pip install "liftpose-dlc[cluster]"'
        ) from None
    return distributed


def open_client(scheduler: Any = "local", workers: int | None = None) -> tuple[Any, bool]:
    """A :class:`distributed.Client` for ``scheduler``, and whether the caller closes it.

    Parameters
    ----------
    scheduler
        ``"local"`` or None: a new :class:`distributed.LocalCluster` of ``workers``
        processes (default: the CPU count), one thread each; an address string
        (``"tcp://host:8786"``): that running scheduler; a ``Client``: used as is; a
        cluster object (``LocalCluster``, dask-jobqueue's ``SLURMCluster``, ...): a client of it.
    workers
        Worker processes of the local cluster (only with ``"local"``).

    Returns
    -------
    tuple
        ``(client, owned)``: ``owned`` is True when the client (and its local cluster)
        was made here and must be closed by the caller.
    """
    distributed = _import_distributed()
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"workers must be an int >= 1, got {workers!r}")
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if scheduler is None or scheduler == "local":
        n = workers or os.cpu_count() or 1
        cluster = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
        return distributed.Client(cluster), True
    if workers is not None:
        raise ConfigError("workers=N makes a local cluster: give it or a scheduler, not both")
    if isinstance(scheduler, str):
        try:
            return distributed.Client(scheduler, timeout=30), True
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
    if hasattr(scheduler, "scheduler_address"):  # a cluster object
        return distributed.Client(scheduler), True
    raise ConfigError(
        "scheduler must be 'local', an address ('tcp://host:8786'), a distributed.Client "
        f"or a cluster object, got {scheduler!r}"
    )


def worker_lifter(model: Any, bodyparts: list[str], keypoint_map: Any, where: str) -> Any:
    """The lifter for ``bodyparts``, loaded once per worker process and then reused.

    ``model`` is a model file or a pretrained name (loaded here) or a lifter (sent by the
    client); it is adapted to ``bodyparts`` as on the client
    (:func:`~liftpose_dlc.pretrained.adapt.adapt_lifter`).
    """
    from liftpose_dlc.engine import as_lifter
    from liftpose_dlc.pretrained.adapt import adapt_lifter

    if isinstance(model, str | os.PathLike):
        key: Any = (str(model), tuple(bodyparts), repr(keypoint_map))
    else:
        key = (id(model), tuple(bodyparts), repr(keypoint_map))
    with _LOCK:
        lifter = _WORKER_LIFTERS.get(key)
        if lifter is None:
            lifter = adapt_lifter(as_lifter(model), bodyparts, keypoint_map, where=where)[0]
            _WORKER_LIFTERS[key] = lifter
    return lifter


@dataclass(frozen=True)
class ProjectJob:
    """What the tasks of one project's videos share: how the lifter is adapted, the options.

    Attributes
    ----------
    bodyparts, keypoint_map, where
        How the lifter is adapted to the project's bodyparts
        (:func:`~liftpose_dlc.pretrained.adapt.adapt_lifter`).
    cfg
        The project's config (for the bodyparts check).
    options
        Keyword arguments of :func:`~liftpose_dlc.workflow.file_lift.lift_dlc_file`.
    """

    bodyparts: Sequence[str]
    keypoint_map: Any
    where: str
    cfg: Mapping[str, Any]
    options: Mapping[str, Any]


def _lift_task(analysis: str, dest: str, model: Any, job: ProjectJob) -> tuple[str, int, int]:
    """Lift one video on a worker; return ``(dest, process id, id of the lifter used)``."""
    from liftpose_dlc.io.registry import get_format
    from liftpose_dlc.workflow.dlc_project import _check_bodyparts
    from liftpose_dlc.workflow.file_lift import lift_dlc_file

    lifter = worker_lifter(model, list(job.bodyparts), job.keypoint_map, job.where)
    # one read of the table's header serves the bodyparts check, the 3D check and the lift
    with get_format("dlc").chunk_reader(analysis) as reader:
        _check_bodyparts(job.cfg, Path(analysis), reader.keypoints)
        lift_dlc_file(analysis, dest, lifter, reader=reader, **job.options)
    return dest, os.getpid(), id(lifter)


def lift_on_cluster(
    jobs: Mapping[Any, tuple[Path, Path]],
    model: Any,
    job: ProjectJob,
    *,
    scheduler: Any = "local",
    workers: int | None = None,
    progress: Any = None,
) -> dict[Any, tuple[Path | None, BaseException | None, tuple[int, int] | None]]:
    """Lift ``jobs`` (``{video: (analysis file, 3D destination)}``), one task per video.

    Parameters
    ----------
    jobs
        The videos to lift, with their analysis output and the 3D file to write.
    model
        The model file or pretrained name (each worker loads it once), or a lifter
        (sent once to each worker).
    job
        What every video's task shares (see :class:`ProjectJob`).
    scheduler, workers
        See :func:`open_client`.
    progress
        A bar with ``update(n)``, advanced as videos finish.

    Returns
    -------
    dict
        ``{video: (dest or None, error or None, (worker pid, lifter id) or None)}``.
    """
    distributed = _import_distributed()
    client, owned = open_client(scheduler, workers)
    try:
        if not isinstance(model, str | os.PathLike):
            model = client.scatter(model, broadcast=True)
        futures = {}
        for video, (analysis, dest) in jobs.items():
            fut = client.submit(_lift_task, str(analysis), str(dest), model, job, pure=False)
            futures[fut] = video
        results: dict[Any, tuple[Path | None, BaseException | None, tuple[int, int] | None]]
        results = {}
        for fut in distributed.as_completed(list(futures)):
            video = futures[fut]
            try:
                dest, pid, lifter_id = fut.result()
                results[video] = (Path(dest), None, (pid, lifter_id))
            except Exception as exc:  # noqa: BLE001 - reported per video; the others go on
                results[video] = (None, exc, None)
            if progress is not None:
                progress.update(1)
        return results
    finally:
        if owned:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None and (scheduler is None or scheduler == "local"):
                cluster.close()
