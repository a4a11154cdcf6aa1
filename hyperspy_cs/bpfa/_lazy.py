"""Dask plumbing of lazy BPFA: one graph, a bounded learning pass, then overlapping tiles.

A map larger than memory is reconstructed by the one engine
(:func:`hyperspy_cs.bpfa._engine.bpfa`) in a Dask graph that nothing computes until
``compute()`` or ``save()``:

1. **Spectral layers** (spectrum images). One streaming pass over the whole map
   sums the moments of the sampled spectra (:func:`sampled_moments`), which fit
   the layers exactly as in memory (:mod:`hyperspy_cs._layers`).
2. **Learning pass** (:func:`learning_pass`). At most
   ``learning_positions`` scan positions are read: square windows of the scan
   grid, drawn at random (from the seed) among those holding sampled positions,
   or the whole map when it is that small. Stacked as frames, they are one
   learning run of the engine; it gives the dictionary ``D``, the
   hyper-parameters ``pi``, ``gamma_s``, ``gamma_e`` and the per-layer
   normalisation (mean and spread of the sampled values in the windows).
3. **Tile pass**. ``dask.array.map_overlap`` over the scan axes, the layers (and
   the spectral axis upstream of them) in one chunk, the scan mask as an aligned
   input. Each tile runs the engine with ``learn_dictionary=False``, the learned
   ``D``, hyper-parameters and normalisation held fixed, and the tile's global
   ``origin``.

The first two passes are one task of the graph, which computes what it reads
itself: a chunk they read is released at once, instead of waiting in memory for
the tile pass, which can only start once they are done. The tile pass reads the
input again.

Why tiles have no seams: with ``D``, the hyper-parameters and the normalisation
fixed, every patch of the engine evolves on its own, drawing random numbers keyed
on its global coordinate. A pixel is the (trimmed) average of the patches covering
it, whose top-left corners lie at most ``patch_size - 1`` rows and columns before
it; with a halo of that depth a tile holds every patch covering its core, in the
same state as in a run on the whole map. The core of every tile is therefore the
single-block result up to float rounding (the float64 projection of the spectra
onto the layers is a matrix product whose rounding may depend on the block
shape), whatever the tile size, and identical whatever the input's chunking,
since the tiles are cut from the scan grid, not from the input chunks.

The number of PCA layers may be decided by the data (``layers="auto"``), while a
Dask array needs its shape beforehand: layer arrays of the graph are ``width``
wide, the most layers the fit can give, and the tasks use the first ``N``.
"""

import collections
import dataclasses
import math
import numbers
import threading
import time

import dask
import dask.array as da
from dask.delayed import Delayed
import numpy as np

from .._guide import with_guide
from .._layers import check_counts, fit_layers, spectral_moments, split_rng
from .._reconstruct import check_finite_samples
from . import _anscombe
from ._engine import bpfa
from ._likelihood import image_count_unit, layer_count_units

__all__ = ["reconstruct", "LazyGraph", "learning_pass_of", "LearningPass"]

# A tile's rebuilt spectra (float32) stay within this many bytes by default.
_TILE_BYTES = 2**26
_TILE_RANGE = (64, 512)
# Side of a learning window: enough patches per window to learn from, small
# enough that a few windows spread over the map.
_WINDOW = 64
# Tiles summed per step of the moments' tree reduction (each sum is (E+1)^2 float64).
_SPLIT_EVERY = 4


@dataclasses.dataclass(frozen=True)
class LazyGraph:
    """What :func:`reconstruct` builds: lazy arrays, and what to record at the call.

    Attributes
    ----------
    maps : dask.array.Array, float64, shape (F, R, C, width)
        Posterior mean of the layers (an image: its one layer), zero-padded.
    std : dask.array.Array or None
        Their posterior standard deviation (``uncertainty``), same shape.
    spectra : dask.array.Array or None, float32, shape (F, R, C, E)
        Full spectra rebuilt from the layers (spectrum images).
    extra, parameters : dict
        ``metadata.Reconstruction`` entries: ``seed`` and ``tiling``, and the
        parameters actually used.
    """

    maps: object
    std: object
    spectra: object
    extra: dict
    parameters: dict


def reconstruct(data, observed, *, patch_size, dictionary, tile_size, learning_positions,
                title, seed, show_progressbar, engine_options, likelihood, dose=0.0, spec=None,
                dtype=None, guide=None, guide_names=(), guide_weights=()):
    """The lazy graph of a BPFA reconstruction: the one door to everything in this module.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array, shape (F, R, C, E)
        Canonical values (``E = 1`` for an image).
    observed : numpy.ndarray of bool, shape (F, R, C)
        Sampled positions.
    patch_size : int
        Checked patch side.
    dictionary : numpy.ndarray, shape (K, b, b, N), or None
    tile_size, learning_positions : int or None
        As given by the user (checked here).
    title : str
        The signal's title, for the layer names.
    seed : int
    show_progressbar : bool
        The learning pass's bar.
    engine_options : dict
        Resolved options of :func:`hyperspy_cs.bpfa._engine.bpfa` (sweeps,
        ``n_atoms``, ``learn_dictionary``, ``uncertainty``).
    likelihood : str
        Checked ``likelihood`` (:mod:`hyperspy_cs.bpfa._likelihood`): the learning
        pass decides on its windows which layers are counts.
    dose : float
        The simulated dose the signal records (0 for none).
    spec : hyperspy_cs._layers.LayerSpec, optional
        The spectral layers to fit (spectrum images); None for an image.
    dtype : numpy.dtype, optional
        The signal's dtype (check of saturated counts).
    guide : numpy.ndarray, shape (F, R, C, 1), optional
    guide_names, guide_weights : sequence
        The guide's name and likelihood weight (empty without a guide).

    Returns
    -------
    LazyGraph
    """
    tile = tile_size_for(tile_size, n_channels=data.shape[3], patch_size=patch_size)
    positions = check_learning_positions(learning_positions, patch_size=patch_size)
    windows = learning_windows(observed, positions=positions, patch_size=patch_size, seed=seed)
    chunks = tile_chunks(observed.shape[1:], tile_size=tile, patch_size=patch_size)
    uncertainty = engine_options["uncertainty"]
    options = engine_options | {"patch_size": patch_size, "dictionary": dictionary,
                                "seed": seed, "show_progressbar": show_progressbar,
                                "uncertainty": False}
    learned = learning_pass(data, observed, windows, chunks=chunks, spec=spec, dtype=dtype,
                            guide=guide, guide_names=guide_names,
                            guide_weights=guide_weights, title=title, engine_options=options,
                            likelihood=likelihood, dose=dose)
    n_full = len(guide_names)
    if spec is None:
        width = 1
        maps = as_tiles(data, chunks).astype(np.float64)
    else:
        width = n_full + spec.max_layers
        maps = layer_maps(data, observed, learned, chunks=chunks, width=width, guide=guide)
    sweeps = {k: engine_options[k] for k in ("n_iter", "burn_in", "step", "patch_stride")}
    packed = tile_pass(maps, observed, learned, patch_size=patch_size, n_full=n_full,
                       seed=seed, sweeps=sweeps, uncertainty=uncertainty)
    spectra = None if spec is None else rebuild(packed[..., :width], learned, n_full=n_full,
                                                n_channels=data.shape[3])
    extra = {"seed": seed, "tiling": {
        "tile_size": tile,
        "depth": patch_size - 1,
        "learning_windows": windows,
        "empty_tiles": empty_tiles(observed, chunks, patch_size=patch_size),
        "learning_pass": learned.key,
    }}
    parameters = {"patch_size": patch_size, **engine_options, "seed": seed,
                  "tile_size": tile, "learning_positions": positions}
    return LazyGraph(maps=packed[..., :width], std=packed[..., width:] if uncertainty else None,
                     spectra=spectra, extra=extra, parameters=parameters)


def learning_pass_of(signal, key, *, bind_also=None):
    """The :class:`LearningPass` of a lazy result, run now if it was not computed here.

    After a ``compute()`` with the threaded scheduler it is at hand; otherwise,
    while ``signal`` is still lazy, its streaming and learning passes run alone,
    and what they found is bound into the graphs of ``signal`` (and of
    ``bind_also``, its lazy ``std``), so that ``compute()`` and ``save()`` do not
    run them again.
    """
    learned = recall(key)
    if learned is None:
        graph = signal.data.__dask_graph__() if signal._lazy else {}
        if key not in graph:
            raise ValueError(
                "signal: the learning pass of this lazy result was computed elsewhere (a "
                "distributed cluster, another process) and is not in its graph any more; call "
                "get_dictionary(result) before compute() or save() to record it"
            )
        learned = Delayed(key, graph).compute()
    for lazy_signal in (signal, bind_also):
        if lazy_signal is not None and lazy_signal._lazy:
            lazy_signal.data = bind(lazy_signal.data, key, learned)
    return learned


def tile_size_for(tile_size, *, n_channels, patch_size):
    """The tile side in pixels: ``tile_size`` checked, or a default for ``n_channels``.

    The default keeps a tile's float32 output spectra within 64 MiB (128 px at
    1024 channels, 64 px at 4096), between 64 and 512 px.
    """
    if tile_size is None:
        side = int(np.clip(math.sqrt(_TILE_BYTES / (4 * n_channels)), *_TILE_RANGE))
        return max(side, patch_size)
    if isinstance(tile_size, bool) or not isinstance(tile_size, numbers.Integral):
        raise TypeError(f"tile_size: expected an integer number of pixels, got {tile_size!r}")
    if tile_size < patch_size:
        raise ValueError(
            f"tile_size: expected at least patch_size={patch_size} pixels, got {tile_size}"
        )
    return int(tile_size)


def check_learning_positions(value, *, patch_size):
    """``learning_positions`` checked: an integer, at least one patch's worth of positions."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"learning_positions: expected an integer, got {value!r}")
    if value < patch_size**2:
        raise ValueError(
            f"learning_positions: expected at least patch_size**2={patch_size**2} "
            f"positions, got {value}"
        )
    return int(value)


def _starts(n, size):
    """Start of each window of ``size`` covering ``0..n``; the last one ends at ``n``."""
    return sorted({min(start, n - size) for start in range(0, n, size)})


def learning_windows(observed, *, positions, patch_size, seed):
    """The scan windows the learning pass reads.

    Parameters
    ----------
    observed : numpy.ndarray of bool, shape (F, R, C)
        Sampled scan positions.
    positions : int
        Most scan positions read (all frames together).
    patch_size : int
        Patch side; a window is at least this large.
    seed : int
        Seed of the choice of windows.

    Returns
    -------
    numpy.ndarray of int, shape (n, 5)
        ``(frame, row0, row1, col0, col1)`` of equally sized windows, each with
        at least one sampled position: every frame whole if the map holds at most
        ``positions`` positions, else ``positions // w**2`` windows (at least one)
        of side ``w = min(64, sqrt(positions))``, but at least ``2 * patch_size``
        and at most the scan, drawn without replacement from a grid of windows
        covering the map.
    """
    n_frames, n_rows, n_cols = observed.shape
    if observed.size <= positions:
        return np.array([(f, 0, n_rows, 0, n_cols) for f in range(n_frames)])
    side = min(n_rows, n_cols, max(min(_WINDOW, math.isqrt(positions)), 2 * patch_size))
    grid = np.array([
        (f, r, r + side, c, c + side)
        for f in range(n_frames)
        for r in _starts(n_rows, side)
        for c in _starts(n_cols, side)
        if observed[f, r:r + side, c:c + side].any()
    ])
    n_windows = max(1, positions // side**2)
    if n_windows >= len(grid):
        return grid
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7113]))
    return grid[np.sort(rng.choice(len(grid), n_windows, replace=False))]


def _tile_bounds(n, size, depth):
    """Chunk sizes of ``n`` pixels in tiles of ``size``; a short last tile joins the one before.

    ``map_overlap`` needs every chunk at least as large as the halo.
    """
    chunks = [size] * (n // size)
    rest = n - sum(chunks)
    if rest and chunks and rest < max(depth, 1):
        chunks[-1] += rest
    elif rest:
        chunks.append(rest)
    return tuple(chunks)


def tile_chunks(scan_shape, *, tile_size, patch_size):
    """``(row_chunks, col_chunks)`` of the tile grid."""
    depth = patch_size - 1
    return tuple(_tile_bounds(n, tile_size, depth) for n in scan_shape)


def empty_tiles(observed, chunks, *, patch_size):
    """Tiles whose halo-padded block holds no sampled position.

    Returns
    -------
    numpy.ndarray of int, shape (m, 4)
        ``(row0, row1, col0, col1)`` of each such tile's core, in pixels.
    """
    depth = patch_size - 1
    bounds = [np.concatenate([[0], np.cumsum(c)]) for c in chunks]
    empty = []
    for r0, r1 in zip(bounds[0][:-1], bounds[0][1:]):
        for c0, c1 in zip(bounds[1][:-1], bounds[1][1:]):
            halo = observed[:, max(0, r0 - depth):r1 + depth, max(0, c0 - depth):c1 + depth]
            if not halo.any():
                empty.append((r0, r1, c0, c1))
    return np.array(empty, dtype=np.int64).reshape(-1, 4)


def as_tiles(array, chunks):
    """A dask array ``(F, R, C, N)`` of ``array`` (numpy or dask) chunked on the tile grid.

    Frames and the last axis stay in one chunk: the engine shares its chain state
    across frames, and needs every layer (or channel) of a pixel.
    """
    target = ((array.shape[0],), *chunks, (array.shape[3],))
    if isinstance(array, da.Array):
        return array.rechunk(target)
    return da.from_array(array, chunks=target)




def window_stack(array, windows):
    """``array[f, row0:row1, col0:col1]`` of each window, stacked: ``(n, h, w, ...)``."""
    return np.stack([array[f, r0:r1, c0:c1] for f, r0, r1, c0, c1 in windows])


def _compute(array):
    """A (small) dask array computed inside a task, with local threads.

    The learning pass is one task of the graph; what it reads it computes itself,
    so that the chunks it reads are released at once instead of waiting in
    memory for the tile pass, which can only start once the learning pass is
    done. Local threads also on a ``dask.distributed`` worker: a task waiting on
    the cluster would hold one of its threads.
    """
    return array.compute(scheduler="threads") if isinstance(array, da.Array) else array


class _Unread:
    """Holds the input array for the learning task: Dask does not make it a dependency."""

    def __init__(self, array):
        self.array = array

    def __dask_tokenize__(self):
        return dask.base.tokenize(self.array)


def sampled_moments(spectra, observed, *, chunks, dtype, split_seed=None):
    """Lazy moments ``(E + 1, E + 1)`` of the sampled spectra of the whole map.

    Parameters
    ----------
    spectra : numpy.ndarray or dask.array.Array, shape (F, R, C, E)
        The spectra in canonical layout.
    observed : numpy.ndarray of bool, shape (F, R, C)
    chunks : tuple
        The tile grid (:func:`tile_chunks`): one task per tile.
    dtype : numpy.dtype
        The signal's dtype, for the check of saturated counts.
    split_seed : int, optional
        Split the counts in two halves (``hyperspy_cs._layers.spectral_moments``):
        moments ``(3, E + 1, E + 1)``, each tile drawing from its own stream
        (``split_rng(split_seed, tile)``).

    Returns
    -------
    dask.array.Array, float64
        :func:`hyperspy_cs._layers.spectral_moments`, summed by a tree reduction.
    """
    tiles = as_tiles(spectra, chunks)
    size = spectra.shape[3] + 1
    shape = (size, size) if split_seed is None else (3, size, size)
    blocks = da.map_blocks(
        _tile_moments, tiles, as_tiles(observed[..., None], chunks), dtype=np.float64,
        new_axis=list(range(4, 3 + len(shape))), check_dtype=dtype, split_seed=split_seed,
        n_cols=len(chunks[1]), meta=np.empty((0,) * (3 + len(shape))),
        chunks=((1,), (1,) * len(chunks[0]), (1,) * len(chunks[1]), *((s,) for s in shape)),
    )
    return blocks.sum(axis=(0, 1, 2), split_every=_SPLIT_EVERY)


def _tile_moments(spectra, observed, *, check_dtype, split_seed, n_cols, block_info=None):
    sampled = spectra[observed[..., 0]]
    check_finite_samples(sampled)
    check_counts(sampled, check_dtype)
    rng = None
    if split_seed is not None:
        _, row, col = block_info[0]["chunk-location"][:3]
        rng = split_rng(split_seed, row * n_cols + col)
    return spectral_moments(sampled, split_rng=rng)[None, None, None]


@dataclasses.dataclass
class LearningPass:
    """What the learning pass found; the tiles hold it fixed.

    Attributes
    ----------
    result : hyperspy_cs.bpfa._engine.BPFAResult
        The engine's run on the windows, without their reconstruction.
    layer_set : hyperspy_cs._layers.SpectralLayers or None
        The spectral layers (spectrum images).
    names : list of str
        One name per layer, the guide first.
    layer_weights : numpy.ndarray, shape (N,)
    likelihood_reason : str
        Which layers were sampled as counts, and why (:mod:`hyperspy_cs.bpfa._likelihood`).
    runtime : float
        Seconds of the engine run.
    title : str
        The signal's title.
    """

    result: object
    layer_set: object
    names: list
    layer_weights: np.ndarray
    likelihood_reason: str
    runtime: float
    title: str


# Learning passes computed in this process, by key: a result computed with the
# threaded scheduler finds its learning pass here without running it again.
_LEARNED = collections.OrderedDict()
_LEARNED_SIZE = 8
_LEARNED_LOCK = threading.Lock()


def recall(key):
    """The :class:`LearningPass` computed under ``key`` in this process, or None."""
    with _LEARNED_LOCK:
        return _LEARNED.get(key)


def _remember(key, learned):
    with _LEARNED_LOCK:
        _LEARNED[key] = learned
        _LEARNED.move_to_end(key)
        while len(_LEARNED) > _LEARNED_SIZE:
            _LEARNED.popitem(last=False)


def learning_pass(data, observed, windows, *, chunks, spec=None, dtype=None, guide=None,
                  guide_names=(), guide_weights=(), title, engine_options, likelihood, dose):
    """The streaming and learning passes: one ``dask.delayed`` task with a deterministic key.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array, shape (F, R, C, E)
        The canonical input; only the sampled positions are read.
    observed : numpy.ndarray of bool, shape (F, R, C)
    windows : numpy.ndarray of int, shape (n, 5)
        :func:`learning_windows`.
    chunks : tuple
        The tile grid, for the streaming pass.
    spec : hyperspy_cs._layers.LayerSpec, optional
        The spectral layers to fit (spectrum images); None for an image.
    dtype : numpy.dtype, optional
        The signal's dtype (check of saturated counts).
    guide : numpy.ndarray, shape (F, R, C, 1), optional
        A fully observed guide, placed in front of the layers.
    guide_names, guide_weights : sequence
        Its name and likelihood weight (empty without a guide).
    title : str
        The signal's title, for the names.
    engine_options : dict
        Keyword arguments of :func:`hyperspy_cs.bpfa._engine.bpfa` (``patch_size``,
        ``dictionary``, ``seed``, sweeps...).
    likelihood : str
    dose : float
        See :func:`reconstruct`.

    Returns
    -------
    dask.delayed.Delayed
        A :class:`LearningPass`; its ``key`` is ``"bpfa-learning-<token>"``.
    """
    args = (_Unread(data), observed, windows, chunks, spec, dtype,
            None if guide is None else window_stack(guide, windows), list(guide_names),
            list(guide_weights), title, engine_options, likelihood, dose)
    key = "bpfa-learning-" + dask.base.tokenize(*args)
    return dask.delayed(_learn, pure=True)(*args, key=key, dask_key_name=key)


def _learn(source, observed, windows, chunks, spec, dtype, guide_windows, guide_names,
           guide_weights, title, engine_options, likelihood, dose, *, key):
    data, layer_set, names = source.array, None, [title]
    if spec is not None:
        layer_set = fit_layers(spec, _compute(sampled_moments(
            data, observed, chunks=chunks, dtype=dtype,
            split_seed=engine_options["seed"] if spec.split else None)))
        names = list(layer_set.names)
    window_observed = window_stack(observed, windows)
    maps = np.zeros((*window_observed.shape, len(names)))
    for index, (f, r0, r1, c0, c1) in enumerate(windows):
        values = np.asarray(_compute(data[f, r0:r1, c0:c1]))[window_observed[index]]
        check_finite_samples(values)
        maps[index][window_observed[index]] = (values if layer_set is None
                                               else layer_set.project(values))
    maps, layer_observed, weights = with_guide(maps, window_observed, guide_windows,
                                               guide_weights)
    if layer_set is None:
        unit, reason = image_count_unit(maps[window_observed], likelihood, dose=dose)
        units = np.array([unit])
    else:
        units, reason = layer_count_units(layer_set, maps, layer_observed, likelihood,
                                          n_full=len(guide_names))
    start = time.perf_counter()
    result = bpfa(maps, layer_observed, layer_weights=weights, count_unit=units,
                  **engine_options)
    learned = LearningPass(dataclasses.replace(result, reconstruction=None, std=None),
                           layer_set, guide_names + names, weights, reason,
                           time.perf_counter() - start, title)
    _remember(key, learned)
    return learned


def bind(array, key, value):
    """``array`` with the node ``key`` of its graph replaced by its computed ``value``.

    What the node needed (the streaming and learning passes) drops out of the graph.
    """
    graph = dict(array.__dask_graph__())
    graph[key] = value
    return da.Array(graph, array.name, array.chunks, meta=array._meta)


def layer_maps(spectra, observed, learned, *, chunks, width, guide=None):
    """Lazy layer maps ``(F, R, C, width)`` of the spectra on the tile grid, the guide first.

    Only sampled positions are projected (others are 0); the maps are padded
    with zeros to ``width`` layers.
    """
    tiles = (as_tiles(spectra, chunks), as_tiles(observed[..., None], chunks))
    if guide is not None:
        tiles += (as_tiles(guide, chunks),)
    return da.map_blocks(_layer_block, *tiles, learned=learned, width=width,
                         chunks=(*tiles[0].chunks[:3], (width,)), dtype=np.float64,
                         meta=np.empty((0, 0, 0, 0)))


def _layer_block(spectra, observed, guide=None, *, learned, width):
    layer_set = learned.layer_set
    mask = observed[..., 0]
    out = np.zeros((*mask.shape, width))
    n_full = 0 if guide is None else 1
    out[..., :n_full] = guide
    out[mask, n_full:n_full + len(layer_set.names)] = layer_set.project(spectra[mask])
    return out


def tile_pass(maps, observed, learned, *, patch_size, n_full, seed, sweeps, uncertainty):
    """Reconstruct the layer maps tile by tile with the learned dictionary held fixed.

    Parameters
    ----------
    maps : dask.array.Array, shape (F, R, C, width)
        Layer values (only sampled positions are read, except for the first
        ``n_full`` layers, fully observed), chunked on the tile grid with the
        frames and layers in one chunk; the first ``N`` layers are used.
    observed : numpy.ndarray of bool, shape (F, R, C)
        Sampled positions.
    learned : Delayed or LearningPass
        :func:`learning_pass`.
    patch_size : int
    n_full : int
        Leading layers observed everywhere (a guide image: 1).
    seed : int
        The learning pass's seed, so that every tile draws the random numbers of
        the single-block run.
    sweeps : dict
        ``n_iter``, ``burn_in``, ``step``, ``patch_stride`` of the engine (those
        not None).
    uncertainty : bool

    Returns
    -------
    dask.array.Array, float64, shape (F, R, C, width) or (F, R, C, 2 width)
        The posterior mean of each layer, then with ``uncertainty`` its
        posterior standard deviation, in the layers' units (zero-padded).
    """
    width = maps.shape[3]
    depth = patch_size - 1
    return da.map_overlap(
        _tile,
        maps,
        as_tiles(observed[..., None], maps.chunks[1:3]),
        depth={1: depth, 2: depth},
        boundary="none",
        trim=False,
        chunks=(*maps.chunks[:3], ((1 + uncertainty) * width,)),
        dtype=np.float64,
        meta=np.empty((0, 0, 0, 0)),
        depth_px=depth,
        n_full=n_full,
        learned=learned,
        seed=seed,
        sweeps=sweeps,
        extent=observed.shape[1:3],
        uncertainty=uncertainty,
    )


def _tile(maps, observed, block_info=None, *, depth_px, n_full, learned, seed, sweeps, extent,
          uncertainty):
    """One halo-padded tile through the engine; returns its core, zero-padded."""
    out = block_info[None]
    (r0, r1), (c0, c1) = out["array-location"][1:3]
    i, j = out["chunk-location"][1:3]
    # boundary="none": tiles at the edge of the scan have no halo on that side.
    low_r, low_c = (depth_px if i > 0 else 0), (depth_px if j > 0 else 0)
    core = (slice(None), slice(low_r, low_r + r1 - r0), slice(low_c, low_c + c1 - c0))
    result = learned.result
    width, n_layers = maps.shape[3], result.dictionary.shape[3]
    maps = maps[..., :n_layers]
    layer_observed = np.concatenate(
        [np.ones((*observed.shape[:3], n_full), bool),
         np.broadcast_to(observed, (*observed.shape[:3], n_layers - n_full))], axis=-1)
    options = dict(patch_size=result.dictionary.shape[1], dictionary=result.dictionary,
                   learn_dictionary=False, layer_offset=result.layer_offset,
                   layer_scale=result.layer_scale, origin=(r0 - low_r, c0 - low_c),
                   extent=tuple(int(e) for e in extent), seed=seed,
                   fixed_hyper={"pi": result.pi, "gamma_s": result.gamma_s,
                                "gamma_e": result.gamma_e}, count_unit=result.count_unit,
                   count_gain=result.count_gain,
                   uncertainty=uncertainty, **sweeps)
    if observed.any():
        fitted = bpfa(maps, layer_observed, layer_weights=learned.layer_weights, **options)
        mean, std = fitted.reconstruction, fitted.std
    else:
        mean, std = _empty_tile(maps, layer_observed, n_full, learned.layer_weights, options)
    parts = [mean[core]] + ([std[core]] if uncertainty else [])
    packed = np.zeros((*parts[0].shape[:3], len(parts) * width))
    for index, part in enumerate(parts):
        packed[..., index * width:index * width + n_layers] = part
    return packed


def rebuild(maps, learned, *, n_full, n_channels):
    """Lazy float32 spectra ``(F, R, C, E)`` from the lazy layer maps ``(F, R, C, width)``."""
    return da.map_blocks(_rebuild_block, maps, learned=learned, n_full=n_full,
                         chunks=(*maps.chunks[:3], (n_channels,)), dtype=np.float32,
                         meta=np.empty((0, 0, 0, 0), np.float32))


def _rebuild_block(maps, *, learned, n_full):
    layer_set = learned.layer_set
    return layer_set.rebuild(maps[..., n_full:n_full + len(layer_set.names)])


def _empty_tile(maps, layer_observed, n_full, layer_weights, options):
    """Mean and std of a tile with no sampled position within reach.

    With fully observed layers (a guide), the dictionary fills the others through
    the codes the guide gives. Without one, nothing is known beyond the map's
    statistics: the layer mean. Either way no measurement backs these layers,
    which the std flags: at least the layer's spread (the std of its sampled values).
    """
    # The layer mean and spread in data units (count layers' normalisation is in
    # Anscombe units).
    mean, spread = _anscombe.to_data(
        np.broadcast_to(options["layer_offset"], maps.shape),
        np.broadcast_to(options["layer_scale"], maps.shape), options["count_unit"],
        options["count_gain"])
    if n_full == 0:
        return mean, spread
    result = bpfa(maps, layer_observed, layer_weights=layer_weights, **options)
    std = result.std
    if std is not None:
        std[..., n_full:] = np.maximum(std[..., n_full:], spread[..., n_full:])
    return result.reconstruction, std


