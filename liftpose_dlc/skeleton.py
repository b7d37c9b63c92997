"""The :class:`Skeleton`: keypoint names, the bones between them, limbs and their colours.

One skeleton draws every animal: matplotlib figures (:mod:`liftpose_dlc.plot`, the reports)
and napari layers take the bones, the limbs and the colours from here, so the same animal
has the same colours everywhere.

Limbs
-----
A limb is a chain of bones between branch points and ends: a keypoint with exactly two
bones is inside a limb, any other keypoint starts or ends one. So

- a DeepLabCut or DeepFly3D leg ``coxa - femur - tibia - tarsus - claw`` is one limb, and six
  separate legs are six limbs;
- a fly whose legs, head and abdomen all join the thorax has one limb per leg, one for the
  head and one for the abdomen (SLEAP's fly: ten limbs);
- a star (an openfield mouse's snout to each ear and to the tail base) has one limb per
  branch, not one colour for the whole animal;
- a ring (a triangle of three keypoints) is one limb;
- a keypoint without bones is a limb of its own, so a skeleton without edges (DeepLabCut's
  ``skeleton: []``) gives every keypoint its own colour.

Limbs are numbered: chains leaving branch points first, then chains between two ends, then
rings, then lone keypoints, each group in the order of its first keypoint in ``nodes``.
Self-loops and repeated edges (in either direction) are kept in ``edges`` as they were
given but belong to no new limb and are drawn once (:attr:`Skeleton.bones`).

Colours
-------
Limb ``i`` takes colour ``i`` of :data:`LIMB_PALETTE` (matplotlib's ``tab10``, cycled), unless
the skeleton carries colours of its own (a ``param.yaml``, or a skeleton cut down with
:meth:`Skeleton.restrict`, which keeps the colour of every remaining bone). Colours are RGB
triplets in 0-1, as matplotlib and napari take them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from liftpose_dlc.errors import ConfigError, KeypointError

__all__ = ["LIMB_PALETTE", "RGB", "Skeleton", "map_keypoints"]

RGB = tuple[float, float, float]

#: Limb colours as 0-255 RGB: matplotlib's "tab10", in order; limbs beyond ten reuse it.
LIMB_PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)


def palette_color(i: int) -> RGB:
    """Colour ``i`` of :data:`LIMB_PALETTE` (cycled) as RGB in 0-1."""
    r, g, b = LIMB_PALETTE[i % len(LIMB_PALETTE)]
    return (r / 255.0, g / 255.0, b / 255.0)


# ----------------------------------------------------------------------------- converters
def _as_names(value: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise KeypointError(f"skeleton nodes must be a list of names, got the string {value!r}")
    return tuple(str(v) for v in value)


def _as_edges(value: Iterable[Sequence[Any]] | None) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    edges = []
    for edge in value:
        pair = tuple(edge) if not isinstance(edge, str) else (edge,)
        if len(pair) != 2:
            raise KeypointError(f"a skeleton edge must be a pair of names, got {edge!r}")
        edges.append((str(pair[0]), str(pair[1])))
    return tuple(edges)


def _as_colors(value: Iterable[Sequence[float]] | None) -> tuple[RGB, ...] | None:
    if value is None:
        return None
    out = []
    for c in value:
        try:
            rgb = tuple(float(v) for v in c)
        except (TypeError, ValueError):
            raise ConfigError(f"a limb colour must be an RGB triplet in 0-1, got {c!r}") from None
        if len(rgb) != 3 or not all(0.0 <= v <= 1.0 for v in rgb):
            raise ConfigError(f"a limb colour must be an RGB triplet in 0-1, got {c!r}")
        out.append((rgb[0], rgb[1], rgb[2]))
    return tuple(out)


# ----------------------------------------------------------------------------- limbs
@attrs.frozen
class _Limbs:
    chains: tuple[tuple[str, ...], ...]  # node names of each limb, in chain order
    edges: tuple[tuple[int, ...], ...]  # indices into Skeleton.edges of each limb
    edge_limb: tuple[int, ...]  # limb of each edge
    node_limb: tuple[int, ...]  # first limb of each node
    bones: tuple[int, ...]  # edges to draw: first of each pair, no self-loops


def _find_limbs(nodes: tuple[str, ...], edges: tuple[tuple[str, str], ...]) -> _Limbs:
    order = {n: i for i, n in enumerate(nodes)}
    first: dict[frozenset[str], int] = {}  # undirected pair -> its first edge index
    for k, (a, b) in enumerate(edges):
        if a != b:
            first.setdefault(frozenset((a, b)), k)
    neighbours: dict[str, list[str]] = {n: [] for n in nodes}
    for k in first.values():
        a, b = edges[k]
        neighbours[a].append(b)
        neighbours[b].append(a)
    for names in neighbours.values():
        names.sort(key=order.__getitem__)
    seen: set[frozenset[str]] = set()
    chains: list[tuple[str, ...]] = []
    limb_edges: list[tuple[int, ...]] = []

    def walk(start: str, nxt: str) -> None:
        chain, ks = [start], []
        previous, current = start, nxt
        while True:
            key = frozenset((previous, current))
            if key in seen:
                break
            seen.add(key)
            ks.append(first[key])
            chain.append(current)
            if len(neighbours[current]) != 2:
                break
            previous, current = current, next(n for n in neighbours[current] if n != previous)
        chains.append(tuple(chain))
        limb_edges.append(tuple(ks))

    def start_from(wanted: Callable[[int], bool]) -> None:
        for node in nodes:
            if wanted(len(neighbours[node])):
                for other in neighbours[node]:
                    if frozenset((node, other)) not in seen:
                        walk(node, other)

    start_from(lambda degree: degree >= 3)  # branch points
    start_from(lambda degree: degree == 1)  # ends
    start_from(lambda degree: degree == 2)  # what is left are rings
    for node in nodes:
        if not neighbours[node]:
            chains.append((node,))
            limb_edges.append(())
    node_limb = [-1] * len(nodes)
    for i, chain in enumerate(chains):
        for name in chain:
            if node_limb[order[name]] < 0:
                node_limb[order[name]] = i
    limb_of_pair = {frozenset(edges[k]): i for i, ks in enumerate(limb_edges) for k in ks}
    edge_limb = [
        node_limb[order[a]] if a == b else limb_of_pair[frozenset((a, b))] for a, b in edges
    ]
    return _Limbs(
        chains=tuple(chains),
        edges=tuple(limb_edges),
        edge_limb=tuple(edge_limb),
        node_limb=tuple(node_limb),
        bones=tuple(sorted(first.values())),
    )


# ----------------------------------------------------------------------------- skeleton
@attrs.frozen
class Skeleton:
    """Keypoint names and the bones between them, with limbs and a colour per limb.

    Parameters
    ----------
    nodes
        Keypoint (bodypart, node) names, unique, in the order of the data.
    edges
        Bones as pairs of names in ``nodes``; kept as given (direction, order, repeats).
    colors
        One RGB colour (0-1) per limb, in the order of :attr:`limbs`; default the
        :data:`LIMB_PALETTE`.

    Raises
    ------
    KeypointError
        If a name repeats, an edge is not a pair, or an edge names an unknown keypoint.
    ConfigError
        If ``colors`` is not one RGB triplet in 0-1 per limb.

    Examples
    --------
    >>> leg = ["coxa", "femur", "tibia", "tarsus", "claw"]
    >>> skeleton = Skeleton(leg, list(zip(leg[:-1], leg[1:])))
    >>> skeleton.limbs
    (('coxa', 'femur', 'tibia', 'tarsus', 'claw'),)
    >>> skeleton.edge_indices[:2]
    ((0, 1), (1, 2))
    >>> spokes = [("snout", "l_ear"), ("snout", "r_ear"), ("snout", "tail")]
    >>> Skeleton(["snout", "l_ear", "r_ear", "tail"], spokes).limbs
    (('snout', 'l_ear'), ('snout', 'r_ear'), ('snout', 'tail'))
    >>> Skeleton(["snout", "tailbase"]).limbs  # no edges: each keypoint its own limb
    (('snout',), ('tailbase',))
    """

    nodes: tuple[str, ...] = attrs.field(converter=_as_names)
    edges: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_as_edges)
    colors: tuple[RGB, ...] | None = attrs.field(default=None, converter=_as_colors, kw_only=True)
    _index: dict[str, int] = attrs.field(init=False, eq=False, repr=False)
    _limbs: _Limbs = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        dupes = sorted({n for n in self.nodes if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
        if dupes:
            raise KeypointError(f"skeleton node names must be unique; repeated: {dupes}")
        index = {n: i for i, n in enumerate(self.nodes)}
        unknown = sorted({n for edge in self.edges for n in edge} - set(index))
        if unknown:
            raise KeypointError(
                f"skeleton edges name keypoints {unknown} that are not among its nodes "
                f"{list(self.nodes)}"
            )
        limbs = _find_limbs(self.nodes, self.edges)
        if self.colors is not None and len(self.colors) != len(limbs.chains):
            raise ConfigError(
                f"{len(self.colors)} limb colours for a skeleton of {len(limbs.chains)} limbs"
            )
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_limbs", limbs)

    def __repr__(self) -> str:
        return f"Skeleton(nodes={list(self.nodes)}, edges={list(self.edges)})"

    # ------------------------------------------------------------------ lookup
    @property
    def n_nodes(self) -> int:
        """Number of keypoints."""
        return len(self.nodes)

    def index(self, name: str) -> int:
        """The index of keypoint ``name`` in :attr:`nodes`.

        Raises
        ------
        KeypointError
            If there is no such keypoint; the message lists the keypoints.
        """
        try:
            return self._index[name]
        except KeyError:
            raise KeypointError(
                f"no keypoint {name!r} in the skeleton; keypoints: {list(self.nodes)}"
            ) from None

    @property
    def edge_indices(self) -> tuple[tuple[int, int], ...]:
        """The edges as pairs of indices into :attr:`nodes`."""
        return tuple((self._index[a], self._index[b]) for a, b in self.edges)

    @property
    def bones(self) -> tuple[int, ...]:
        """Indices into :attr:`edges` of the bones to draw: each pair once, no self-loops."""
        return self._limbs.bones

    # ------------------------------------------------------------------ limbs
    @property
    def limbs(self) -> tuple[tuple[str, ...], ...]:
        """Each limb as its keypoint names in chain order (a ring ends where it starts)."""
        return self._limbs.chains

    @property
    def limb_edges(self) -> tuple[tuple[int, ...], ...]:
        """Each limb's edges, as indices into :attr:`edges`, in chain order."""
        return self._limbs.edges

    @property
    def edge_limbs(self) -> tuple[int, ...]:
        """The limb of each edge (a self-loop: its keypoint's limb)."""
        return self._limbs.edge_limb

    @property
    def node_limbs(self) -> tuple[int, ...]:
        """The limb of each keypoint: the first limb it is part of."""
        return self._limbs.node_limb

    @property
    def limb_colors(self) -> tuple[RGB, ...]:
        """One RGB colour (0-1) per limb: the skeleton's own, else :data:`LIMB_PALETTE`."""
        if self.colors is not None:
            return self.colors
        return tuple(palette_color(i) for i in range(len(self.limbs)))

    @property
    def edge_colors(self) -> tuple[RGB, ...]:
        """The colour of each edge: its limb's."""
        colors = self.limb_colors
        return tuple(colors[i] for i in self.edge_limbs)

    @property
    def node_colors(self) -> tuple[RGB, ...]:
        """The colour of each keypoint: the colour of its first limb."""
        colors = self.limb_colors
        return tuple(colors[i] for i in self.node_limbs)

    # ------------------------------------------------------------------ new skeletons
    def with_nodes(self, nodes: Iterable[str]) -> Skeleton:
        """The same bones over another list of keypoints, keeping each bone's colour.

        ``nodes`` may reorder, drop or add keypoints; edges touching a dropped keypoint are
        dropped, the others keep their order. Every remaining limb keeps the colour of the
        limb its first bone (or, for a lone keypoint, the keypoint) had here; new lone
        keypoints take palette colours.
        """
        names = _as_names(nodes)
        kept = set(names)
        edges = [e for e in self.edges if e[0] in kept and e[1] in kept]
        if names == self.nodes and len(edges) == len(self.edges):
            return self
        fresh = Skeleton(names, edges)
        old_limb = {frozenset(self.edges[k]): self.edge_limbs[k] for k in self.bones}
        old_colors = self.limb_colors
        colors = []
        for i, (chain, ks) in enumerate(zip(fresh.limbs, fresh.limb_edges, strict=True)):
            if ks:
                colors.append(old_colors[old_limb[frozenset(fresh.edges[ks[0]])]])
            elif chain[0] in self._index:
                colors.append(old_colors[self.node_limbs[self._index[chain[0]]]])
            else:
                colors.append(palette_color(i))
        if tuple(colors) == fresh.limb_colors:
            return fresh
        return Skeleton(names, edges, colors=colors)

    def restrict(self, kept: Iterable[str]) -> Skeleton:
        """The skeleton of some keypoints only, in the order given; bones keep their colours.

        Edges touching a removed keypoint are dropped, the others keep their order (see
        :meth:`with_nodes`).

        Raises
        ------
        KeypointError
            If a name in ``kept`` is not a keypoint of this skeleton.

        Examples
        --------
        >>> s = Skeleton(["a", "b", "c", "d"], [("a", "b"), ("c", "d")])
        >>> r = s.restrict(["c", "d"])
        >>> r.edges, r.limb_colors == (s.limb_colors[1],)
        ((('c', 'd'),), True)
        """
        names = _as_names(kept)
        unknown = [n for n in names if n not in self._index]
        if unknown:
            raise KeypointError(
                f"cannot keep keypoints {unknown}: not in the skeleton; keypoints: "
                f"{list(self.nodes)}"
            )
        return self.with_nodes(names)

    def rename(self, mapping: Mapping[str, str] | None) -> Skeleton:
        """The skeleton with keypoints renamed by ``{old_name: new_name}`` (colours kept).

        Raises
        ------
        KeypointError
            If ``mapping`` names an unknown keypoint or two keypoints get the same name.

        Examples
        --------
        >>> Skeleton(["nose", "tail"], [("nose", "tail")]).rename({"nose": "snout"}).edges
        (('snout', 'tail'),)
        """
        names = map_keypoints(self.nodes, mapping, what="skeleton keypoints")
        new = dict(zip(self.nodes, names, strict=True))
        return Skeleton(names, [(new[a], new[b]) for a, b in self.edges], colors=self.colors)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_dlc_config(
        cls,
        config: str | os.PathLike | Mapping[str, Any],
        keypoints: Sequence[str] | None = None,
    ) -> Skeleton:
        """The skeleton of a DeepLabCut project: its bodyparts and ``skeleton`` edges.

        Parameters
        ----------
        config
            The project's ``config.yaml`` path, or its content as a dictionary.
        keypoints
            Keep only these bodyparts, in this order (:meth:`restrict`: bones keep the
            colours they have in the whole project); default all bodyparts in the config's
            order (``bodyparts``, or ``multianimalbodyparts`` then ``uniquebodyparts``).

        Raises
        ------
        MissingFileError
            If the config file does not exist.
        ConfigError
            If the config lists no bodyparts, its ``skeleton`` holds an edge that is not a
            pair or names an unknown bodypart, or ``keypoints`` are not bodyparts.

        Examples
        --------
        >>> cfg = {"bodyparts": ["snout", "leftear", "rightear", "tailbase"], "skeleton": []}
        >>> Skeleton.from_dlc_config(cfg).limbs
        (('snout',), ('leftear',), ('rightear',), ('tailbase',))
        """
        from liftpose_dlc.io.dlc_config import as_config, config_bodyparts

        cfg = as_config(config)
        where = str(cfg.get("config_path", "DeepLabCut config"))
        parts = config_bodyparts(cfg)
        raw = cfg.get("skeleton") or []
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            raise ConfigError(f"{where}: 'skeleton' must be a list of [bodypart, bodypart] pairs")
        edges = []
        for edge in raw:
            if not isinstance(edge, Sequence) or isinstance(edge, str) or len(edge) != 2:
                raise ConfigError(f"{where}: skeleton edge {edge!r} is not a pair of bodyparts")
            unknown = [str(n) for n in edge if str(n) not in parts]
            if unknown:
                raise ConfigError(
                    f"{where}: skeleton edge {edge!r} names unknown bodyparts {unknown}"
                )
            edges.append((str(edge[0]), str(edge[1])))
        try:
            skeleton = cls(parts, edges)
        except KeypointError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if keypoints is None:
            return skeleton
        absent = [str(k) for k in keypoints if str(k) not in parts]
        if absent:
            raise ConfigError(f"{where}: keypoints {absent} are not bodyparts of this project")
        return skeleton.restrict(keypoints)

    @classmethod
    def from_sleap(cls, skeleton: Any) -> Skeleton:
        """The skeleton of a ``sleap_io.Skeleton`` (or of a ``sleap_io.Labels`` with one).

        Anything with ``node_names`` and ``edge_names`` works (duck-typed); SLEAP itself
        is not imported.

        Raises
        ------
        KeypointError
            If a ``Labels`` holds no skeleton or several different ones.
        """
        if hasattr(skeleton, "skeletons") and not hasattr(skeleton, "node_names"):
            distinct = {
                (tuple(s.node_names), tuple(map(tuple, s.edge_names))) for s in skeleton.skeletons
            }
            if len(distinct) != 1:
                raise KeypointError(
                    f"the SLEAP labels hold {len(distinct)} different skeletons; pass one"
                )
            skeleton = skeleton.skeletons[0]
        return cls(list(skeleton.node_names), [tuple(e) for e in skeleton.edge_names])

    @classmethod
    def from_params(cls, params: Mapping[str, Any], names: Sequence[str] | None = None) -> Skeleton:
        """The skeleton of a ``param.yaml``'s ``vis`` section (bones, limb colours, names).

        See :func:`liftpose_dlc.params.skeleton_from_params`.
        """
        from liftpose_dlc.params import skeleton_from_params

        return skeleton_from_params(params, names)

    def to_params(self) -> dict[str, Any]:
        """The ``vis`` section of a ``param.yaml`` drawing this skeleton the same way.

        See :func:`liftpose_dlc.params.skeleton_to_vis`.
        """
        from liftpose_dlc.params import skeleton_to_vis

        return skeleton_to_vis(self)


# ----------------------------------------------------------------------------- name maps
def map_keypoints(
    names: Sequence[str],
    mapping: Mapping[str, str] | None,
    *,
    what: str = "keypoints",
) -> list[str]:
    """Apply an explicit name map: each name becomes ``mapping.get(name, name)``.

    This is how a user's bodyparts meet a model's (or a 3D library's) keypoints when the
    names differ: ``{"snout": "Nose"}`` reads "my snout is your Nose".

    Parameters
    ----------
    names
        The names to map, in order.
    mapping
        ``{name: new_name}``; names not in it are kept. None or empty maps nothing.
    what
        What the names are, for error messages.

    Returns
    -------
    list of str
        The mapped names, in the order of ``names``.

    Raises
    ------
    KeypointError
        If ``mapping`` has a key that is not among ``names``, or two names end up the same.

    Examples
    --------
    >>> map_keypoints(["snout", "tail"], {"snout": "Nose"})
    ['Nose', 'tail']
    """
    names = [str(n) for n in names]
    mapping = {str(k): str(v) for k, v in (mapping or {}).items()}
    unknown = [k for k in mapping if k not in names]
    if unknown:
        raise KeypointError(
            f"keypoint_map names keypoints that are not asked for: {unknown}; {what}: {names}"
        )
    out = [mapping.get(n, n) for n in names]
    dupes = sorted({n for n in out if out.count(n) > 1})
    if dupes:
        sources = {d: [n for n, m in zip(names, out, strict=True) if m == d] for d in dupes}
        raise KeypointError(f"keypoint_map maps several {what} to the same name: {sources}")
    return out
