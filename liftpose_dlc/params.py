"""The seed's ``param.yaml``: roots and target sets for the lifter, skeleton and colours for plots.

A parameter file has two sections, as in the LiftPose3D examples::

    data:
        roots       : [0]
        target_sets : [[1, 2, 3, 4]]
    vis:
        colors      : [[186, 30, 49]]              # 0-255 RGB, one per limb
        bones       : [[0, 1], [1, 2], [2, 3], [3, 4]]
        limb_id     : [0, 0, 0, 0, 0]               # one per joint: index into colors
        names       : [Coxa, Femur, Tibia, Tarsus, Claw]   # optional

``limb_id`` has one entry per *joint*, as in liftpose 0.22 (a bone takes the colour of the
limb of its first joint). The older key ``targets`` is accepted for ``target_sets``, a flat
``target_sets`` list for a single root, and ``names`` given as one-element lists, as found
in the 0.22 examples. Other keys are kept as they are.

:func:`skeleton_from_params` and :func:`skeleton_to_vis` convert a ``vis`` section to and from
a :class:`~liftpose_dlc.skeleton.Skeleton` (the one object that draws an animal);
:func:`vis_from_dlc_config` builds the ``vis`` section of a DeepLabCut project's
``config.yaml`` (its ``skeleton`` and bodyparts) through it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from liftpose_dlc._filesystem import atomic_path, check_file
from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.metrics import normalize_target_sets
from liftpose_dlc.skeleton import LIMB_PALETTE, Skeleton

__all__ = [
    "PALETTE",
    "load_params",
    "save_params",
    "skeleton_from_params",
    "skeleton_to_vis",
    "validate_params",
    "vis_from_dlc_config",
]

#: Limb colours (0-255 RGB) of :func:`vis_from_dlc_config`: the skeleton's palette
#: (:data:`liftpose_dlc.skeleton.LIMB_PALETTE`, matplotlib's "tab10"), cycled.
PALETTE: list[list[int]] = [list(c) for c in LIMB_PALETTE]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(value: Any, what: str, where: str) -> list[int]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(f"{where}: {what} must be a list of integers, got {value!r}")
    if not all(_is_int(v) and v >= 0 for v in value):
        raise ConfigError(f"{where}: {what} must hold non-negative integers, got {value!r}")
    return list(value)


def _check_colors(colors: Any, where: str) -> list[list[float]]:
    if not isinstance(colors, Sequence) or isinstance(colors, str) or not colors:
        raise ConfigError(f"{where}: vis.colors must be a non-empty list of [R, G, B] triplets")
    out = []
    for i, c in enumerate(colors):
        ok = (
            isinstance(c, Sequence)
            and not isinstance(c, str)
            and len(c) == 3
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in c)
            and all(0 <= v <= 255 for v in c)
        )
        if not ok:
            raise ConfigError(
                f"{where}: vis.colors[{i}] must be an [R, G, B] triplet of numbers in 0-255, "
                f"got {c!r}"
            )
        out.append([int(v) if float(v).is_integer() else float(v) for v in c])
    return out


def _check_names(names: Any, where: str) -> list[str]:
    if not isinstance(names, Sequence) or isinstance(names, str):
        raise ConfigError(f"{where}: vis.names must be a list of joint names")
    out = []
    for n in names:
        if isinstance(n, Sequence) and not isinstance(n, str) and len(n) == 1:
            n = n[0]  # the 0.22 examples write [['HeadF'], ['HeadB'], ...]
        if not isinstance(n, str | int | float) or isinstance(n, bool):
            raise ConfigError(f"{where}: vis.names must be a list of strings, got {n!r}")
        out.append(str(n))
    if len(set(out)) != len(out):
        raise ConfigError(f"{where}: vis.names has repeated names")
    return out


def _validate_data(data: Any, n_keypoints: int | None, where: str) -> dict:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: 'data' must be a mapping with roots and target_sets")
    data = dict(data)
    if "target_sets" not in data and "targets" in data:
        data["target_sets"] = data.pop("targets")
    missing = [k for k in ("roots", "target_sets") if k not in data]
    if missing:
        raise ConfigError(f"{where}: 'data' lacks {missing}")
    roots = data["roots"]
    if _is_int(roots):
        roots = [roots]
    roots = _int_list(roots, "data.roots", where)
    sets = data["target_sets"]
    if not isinstance(sets, Sequence) or isinstance(sets, str):
        raise ConfigError(f"{where}: data.target_sets must be a list of lists of joint indices")
    flat = all(_is_int(t) for t in sets)
    sets = [sets] if flat else sets
    sets = [_int_list(t, "each of data.target_sets", where) for t in sets]
    try:
        data["roots"], data["target_sets"] = normalize_target_sets(roots, sets, n_keypoints)
    except KeypointError as exc:
        raise ConfigError(f"{where}: data: {exc}") from None
    return data


def _validate_vis(vis: Any, n_keypoints: int | None, where: str) -> dict:
    if not isinstance(vis, Mapping):
        raise ConfigError(f"{where}: 'vis' must be a mapping with colors, bones and limb_id")
    vis = dict(vis)
    missing = [k for k in ("colors", "bones", "limb_id") if k not in vis]
    if missing:
        raise ConfigError(f"{where}: 'vis' lacks {missing}")
    vis["colors"] = _check_colors(vis["colors"], where)
    bones = vis["bones"]
    if not isinstance(bones, Sequence) or isinstance(bones, str):
        raise ConfigError(f"{where}: vis.bones must be a list of [joint, joint] pairs")
    checked = []
    for i, b in enumerate(bones):
        pair = _int_list(b, f"vis.bones[{i}]", where)
        if len(pair) != 2:
            raise ConfigError(f"{where}: vis.bones[{i}] must be a pair of joints, got {b!r}")
        checked.append(pair)
    vis["bones"] = checked
    limb_id = _int_list(vis["limb_id"], "vis.limb_id", where)
    vis["limb_id"] = limb_id
    if "names" in vis and vis["names"] is not None:
        vis["names"] = _check_names(vis["names"], where)
        if n_keypoints is None:
            n_keypoints = len(vis["names"])
        elif len(vis["names"]) != n_keypoints:
            raise ConfigError(
                f"{where}: vis.names has {len(vis['names'])} names for {n_keypoints} keypoints"
            )
    n_used = max((j for b in checked for j in b), default=-1) + 1
    if n_keypoints is not None and n_used > n_keypoints:
        raise ConfigError(
            f"{where}: vis.bones use joint {n_used - 1}, out of range for {n_keypoints} keypoints"
        )
    needed = max(n_used, n_keypoints or 0)
    if len(limb_id) < needed:
        raise ConfigError(
            f"{where}: vis.limb_id has {len(limb_id)} entries, one per joint is needed "
            f"({needed} joints); limb_id gives each joint's limb (index into colors)"
        )
    bad = sorted({i for i in limb_id if i >= len(vis["colors"])})
    if bad:
        raise ConfigError(
            f"{where}: vis.limb_id uses limbs {bad} but only {len(vis['colors'])} colors are given"
        )
    return vis


def validate_params(
    params: Mapping[str, Any], n_keypoints: int | None = None, source: str = "parameters"
) -> dict:
    """Check a parameter dictionary and return a normalised copy.

    Parameters
    ----------
    params
        A dictionary with a ``data`` section, a ``vis`` section, or both (see the module
        docstring).
    n_keypoints
        Number of keypoints of the data the parameters are for; when given, joint indices
        are checked against it.
    source
        Named in error messages (the file the parameters came from).

    Returns
    -------
    dict
        A deep copy, with ``targets`` renamed ``target_sets``, ``target_sets`` as a list of
        lists and ``names`` as a list of strings.

    Raises
    ------
    ConfigError
        If a section is missing or malformed, an index is out of range, a colour is not a
        0-255 triplet, or ``limb_id`` does not give a limb for every joint.

    Examples
    --------
    >>> p = validate_params({"data": {"roots": [0], "target_sets": [1, 2]}})
    >>> p["data"]["target_sets"]
    [[1, 2]]
    """
    if not isinstance(params, Mapping):
        raise ConfigError(f"{source}: expected a mapping with 'data' and 'vis' sections")
    if "data" not in params and "vis" not in params:
        raise ConfigError(f"{source}: has neither a 'data' nor a 'vis' section")
    out = copy.deepcopy(dict(params))
    if "data" in out:
        out["data"] = _validate_data(out["data"], n_keypoints, source)
    if "vis" in out:
        out["vis"] = _validate_vis(out["vis"], n_keypoints, source)
    return out


def load_params(path: str | os.PathLike, n_keypoints: int | None = None) -> dict:
    r"""Read and check a LiftPose3D ``param.yaml``.

    Parameters
    ----------
    path
        The YAML file.
    n_keypoints
        Number of keypoints of the data; when given, joint indices are checked against it.

    Returns
    -------
    dict
        The parameters, checked and normalised by :func:`validate_params`.

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    ConfigError
        If the file is not valid YAML or its content is invalid; the message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "param.yaml"
    >>> _ = path.write_text(
    ...     "data: {roots: [0], target_sets: [[1, 2]]}\n"
    ...     "vis: {colors: [[186, 30, 49]], bones: [[0, 1], [1, 2]], limb_id: [0, 0, 0]}\n"
    ... )
    >>> params = load_params(path)
    >>> params["data"]["roots"], params["vis"]["bones"]
    ([0], [[0, 1], [1, 2]])
    """
    p = check_file(path, "parameter file")
    try:
        content = yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not a valid YAML file: {exc}") from None
    return validate_params(content, n_keypoints, source=str(p))


def _plain(value: Any) -> Any:
    """Numpy scalars/arrays and tuples -> plain Python, for yaml.safe_dump."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def save_params(
    params: Mapping[str, Any], path: str | os.PathLike, overwrite: bool = False
) -> Path:
    """Check ``params`` and write them as a ``param.yaml`` readable by :func:`load_params`.

    Parameters
    ----------
    params
        Parameters with a ``data`` and/or ``vis`` section.
    path
        Destination file.
    overwrite
        Replace an existing file (default: raise :class:`OutputExistsError`).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "param.yaml"
    >>> _ = save_params({"data": {"roots": [0], "target_sets": [[1]]}}, path)
    >>> load_params(path)["data"]
    {'roots': [0], 'target_sets': [[1]]}
    """
    checked = _plain(validate_params(_plain(params), source=str(path)))
    text = yaml.safe_dump(checked, default_flow_style=None, sort_keys=False)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text)
    return Path(path)


def _color_255(value: float) -> int | float:
    v = value * 255.0
    return int(round(v)) if abs(v - round(v)) < 1e-6 else v


def skeleton_to_vis(skeleton: Skeleton) -> dict:
    """The ``vis`` section that draws ``skeleton`` with its limbs and colours.

    ``limb_id`` gives each joint its first limb (:attr:`Skeleton.node_limbs`) and
    ``colors`` one 0-255 RGB triplet per limb. A bone takes the colour of the limb of its
    first joint, so a bone whose first joint starts another limb (a branch of a star) is
    written the other way round; bones are otherwise as in ``skeleton.edges``.

    Examples
    --------
    >>> from liftpose_dlc.skeleton import Skeleton
    >>> star = Skeleton(["s", "l", "r", "t"], [("s", "l"), ("s", "r"), ("s", "t")])
    >>> vis = skeleton_to_vis(star)
    >>> vis["bones"], vis["limb_id"]
    ([[0, 1], [2, 0], [3, 0]], [0, 0, 1, 2])
    """
    node_limb = skeleton.node_limbs
    bones = []
    for (a, b), limb in zip(skeleton.edge_indices, skeleton.edge_limbs, strict=True):
        if node_limb[a] != limb and node_limb[b] == limb:
            a, b = b, a
        bones.append([a, b])
    return {
        "colors": [[_color_255(v) for v in c] for c in skeleton.limb_colors],
        "bones": bones,
        "limb_id": list(node_limb),
        "names": list(skeleton.nodes),
    }


def skeleton_from_params(params: Mapping[str, Any], names: Sequence[str] | None = None) -> Skeleton:
    """The :class:`~liftpose_dlc.skeleton.Skeleton` of a ``vis`` section (or of whole parameters).

    Limbs follow the skeleton's one rule (chains between branch points and ends); each limb
    takes the colour the file gives its first bone (the colour of the limb of the bone's
    first joint, as :func:`liftpose_dlc.plot.bone_colors` draws it), a lone joint its own.

    Parameters
    ----------
    params
        Parameters with a ``vis`` section, or the ``vis`` section itself.
    names
        Joint names; default the section's ``names``, else ``"0"``, ``"1"``, ...

    Raises
    ------
    ConfigError
        If the section is invalid (see :func:`validate_params`) or ``names`` has the wrong
        length.

    Examples
    --------
    >>> vis = {"colors": [[186, 30, 49]], "bones": [[0, 1], [1, 2]], "limb_id": [0, 0, 0],
    ...        "names": ["Coxa", "Femur", "Tibia"]}
    >>> s = skeleton_from_params(vis)
    >>> s.limbs, s.limb_colors[0] == (186 / 255, 30 / 255, 49 / 255)
    ((('Coxa', 'Femur', 'Tibia'),), True)
    """
    vis = params.get("vis", params) if isinstance(params, Mapping) else params
    vis = validate_params({"vis": vis}, source="vis section")["vis"]
    limb_id = vis["limb_id"]
    n_joints = max([len(limb_id)] + [j + 1 for b in vis["bones"] for j in b])
    given = names if names is not None else vis.get("names")
    joint_names = [str(i) for i in range(n_joints)] if given is None else [str(n) for n in given]
    if len(joint_names) < n_joints and given is not None:
        raise ConfigError(f"{len(joint_names)} names for the {n_joints} joints of the vis section")
    bones = vis["bones"]
    skeleton = Skeleton(joint_names, [(joint_names[a], joint_names[b]) for a, b in bones])
    palette = [tuple(float(v) / 255.0 for v in c) for c in vis["colors"]]
    colors = []
    for chain, ks in zip(skeleton.limbs, skeleton.limb_edges, strict=True):
        joint = bones[ks[0]][0] if ks else skeleton.index(chain[0])
        colors.append(palette[limb_id[joint]] if joint < len(limb_id) else palette[0])
    return Skeleton(skeleton.nodes, skeleton.edges, colors=colors)


def vis_from_dlc_config(
    config: Mapping[str, Any] | str | os.PathLike, keypoints: Sequence[str] | None = None
) -> dict:
    """Build the ``vis`` section of the parameters from a DeepLabCut project config.

    The ``vis`` section (:func:`skeleton_to_vis`) of the project's skeleton
    (:meth:`Skeleton.from_dlc_config <liftpose_dlc.skeleton.Skeleton.from_dlc_config>`):
    bones are the config's ``skeleton`` edges, each limb (a chain between branch points and
    ends; a bodypart in no edge is a limb of its own) gets one colour of :data:`PALETTE`.

    Parameters
    ----------
    config
        The project's ``config.yaml`` path, or its content as a dictionary.
    keypoints
        Keypoint order of the data to be plotted; default the config's order: ``bodyparts``,
        or ``multianimalbodyparts`` then ``uniquebodyparts`` for a multi-animal project.
        Bones keep the colours they have in the whole project.

    Returns
    -------
    dict
        ``{"colors", "bones", "limb_id", "names"}``, with bones as index pairs into
        ``names`` and one ``limb_id`` per keypoint.

    Raises
    ------
    ConfigError
        If the config lists no bodyparts, or its skeleton names unknown bodyparts or holds
        an edge that is not a pair.

    Examples
    --------
    >>> cfg = {"bodyparts": ["nose", "neck", "tail", "ear"],
    ...        "skeleton": [["nose", "neck"], ["neck", "tail"]]}
    >>> vis = vis_from_dlc_config(cfg)
    >>> vis["bones"], vis["limb_id"]
    ([[0, 1], [1, 2]], [0, 0, 0, 1])
    >>> len(vis["colors"])
    2
    """
    return skeleton_to_vis(Skeleton.from_dlc_config(config, keypoints))
