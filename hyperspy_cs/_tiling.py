"""Dask plumbing of lazy BPFA: a bounded learning pass, then overlapping tiles.

A map larger than memory is reconstructed in two passes of the one engine
(:func:`hyperspy_cs._bpfa.bpfa`):

1. **Learning pass** (when the method is called). At most ``learning_positions``
   scan positions are read: square windows of the scan grid, drawn at random
   (from the seed) among those holding sampled positions, or the whole map when
   it is that small. Stacked as frames, they are one learning run of the engine;
   it gives the dictionary ``D``, the hyper-parameters ``pi``, ``gamma_s``,
   ``gamma_e`` and the per-layer normalisation (mean and spread of the sampled
   values in the windows). For a spectrum image the spectral layers
   (:mod:`hyperspy_cs.layers`) are fitted on the sampled spectra of the same
   windows.
2. **Tile pass** (on ``compute()``/``save()``). ``dask.array.map_overlap`` over the
   scan axes, the layers (and the spectral axis upstream of them) in one chunk,
   the scan mask as an aligned input. Each tile runs the engine with
   ``learn_dictionary=False``, the learned ``D`` and hyper-parameters held fixed,
   the learned normalisation and the tile's global ``origin``.

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
"""

import dataclasses
import math
import numbers

import dask.array as da
import numpy as np

from ._bpfa import bpfa

__all__ = ["tile_size_for", "check_learning_positions", "learning_windows", "read_windows",
           "window_stack", "layer_sample", "tile_chunks", "as_tiles", "layer_maps", "tile_pass",
           "rebuild", "empty_tiles"]

# A tile's rebuilt spectra (float32) stay within this many bytes by default.
_TILE_BYTES = 2**26
_TILE_RANGE = (64, 512)
# Side of a learning window: enough patches per window to learn from, small
# enough that a few windows spread over the map.
_WINDOW = 64
# Sampled spectra the spectral layers of a lazy result are fitted on, at most:
# plenty for a few PCA components, and 128 MiB in float64 at 2048 channels.
LAYER_SPECTRA = 8192


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


def read_windows(data, windows):
    """Yield the data ``(h, w, N)`` of each window of the canonical ``(F, R, C, N)`` array.

    One window is computed at a time, so the learning pass holds one window of
    the full spectra (plus what the caller keeps of it).
    """
    for f, r0, r1, c0, c1 in windows:
        block = data[f, r0:r1, c0:c1]
        yield np.asarray(block.compute() if isinstance(block, da.Array) else block)


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


def tile_pass(maps, observed, learned, *, patch_size, n_full, layer_weights, seed, sweeps,
              uncertainty):
    """Reconstruct the layer maps tile by tile with the learned dictionary held fixed.

    Parameters
    ----------
    maps : dask.array.Array, shape (F, R, C, N)
        Layer values (only sampled positions are read, except for the first
        ``n_full`` layers, fully observed), chunked on the tile grid with the
        frames and layers in one chunk.
    observed : dask.array.Array of bool, shape (F, R, C, 1)
        Sampled positions, chunked like ``maps``.
    learned : hyperspy_cs._bpfa.BPFAResult
        The learning pass.
    patch_size : int
    n_full : int
        Leading layers observed everywhere (a guide image: 1).
    layer_weights : numpy.ndarray, shape (N,), or None
    seed : int
        The learning pass's seed, so that every tile draws the random numbers of
        the single-block run.
    sweeps : dict
        ``n_iter``, ``burn_in``, ``step`` of the engine (those not None).
    uncertainty : bool

    Returns
    -------
    dask.array.Array, float64, shape (F, R, C, N) or (F, R, C, 2 N)
        The posterior mean of each layer, then with ``uncertainty`` its
        posterior standard deviation, in the layers' units.
    """
    n_layers = maps.shape[3]
    n_out = 2 * n_layers if uncertainty else n_layers
    weights = np.ones(n_layers) if layer_weights is None else np.asarray(layer_weights, float)
    depth = patch_size - 1
    return da.map_overlap(
        _tile,
        maps,
        observed,
        depth={1: depth, 2: depth},
        boundary="none",
        trim=False,
        chunks=(*maps.chunks[:3], (n_out,)),
        dtype=np.float64,
        meta=np.empty((0, 0, 0, 0)),
        depth_px=depth,
        n_full=n_full,
        dictionary=learned.dictionary,
        hyper={"pi": learned.pi, "gamma_s": learned.gamma_s, "gamma_e": learned.gamma_e},
        offset=learned.layer_offset,
        scale=learned.layer_scale,
        layer_weights=weights,
        seed=seed,
        sweeps=sweeps,
        uncertainty=uncertainty,
    )


def _tile(maps, observed, block_info=None, *, depth_px, n_full, dictionary, hyper, offset,
          scale, layer_weights, seed, sweeps, uncertainty):
    """One halo-padded tile through the engine; returns its core."""
    out = block_info[None]
    (r0, r1), (c0, c1) = out["array-location"][1:3]
    i, j = out["chunk-location"][1:3]
    # boundary="none": tiles at the edge of the scan have no halo on that side.
    low_r, low_c = (depth_px if i > 0 else 0), (depth_px if j > 0 else 0)
    core = (slice(None), slice(low_r, low_r + r1 - r0), slice(low_c, low_c + c1 - c0))
    n_layers = maps.shape[3]
    layer_observed = np.concatenate(
        [np.ones((*observed.shape[:3], n_full), bool),
         np.broadcast_to(observed, (*observed.shape[:3], n_layers - n_full))], axis=-1)
    options = dict(patch_size=dictionary.shape[1], dictionary=dictionary,
                   learn_dictionary=False, fixed_hyper=hyper, layer_offset=offset,
                   layer_scale=scale, origin=(r0 - low_r, c0 - low_c), seed=seed,
                   uncertainty=uncertainty, **sweeps)
    if observed.any():
        result = bpfa(maps, layer_observed, layer_weights=layer_weights, **options)
        mean, std = result.reconstruction, result.std
    else:
        mean, std = _empty_tile(maps, layer_observed, n_full, layer_weights, options)
    parts = [mean[core]] + ([std[core]] if uncertainty else [])
    return np.concatenate(parts, axis=-1)


def _empty_tile(maps, layer_observed, n_full, layer_weights, options):
    """Mean and std of a tile with no sampled position within reach.

    With fully observed layers (a guide), the dictionary fills the others through
    the codes the guide gives. Without one, nothing is known beyond the map's
    statistics: the layer mean. Either way no measurement backs these layers,
    which the std flags: at least the layer's spread (the std of its sampled values).
    """
    offset, scale = options["layer_offset"], options["layer_scale"]
    spread = np.broadcast_to(scale, maps.shape)
    if n_full == 0:
        return np.broadcast_to(offset, maps.shape).astype(np.float64), spread.astype(np.float64)
    result = bpfa(maps, layer_observed, layer_weights=layer_weights, **options)
    std = result.std
    if std is not None:
        std[..., n_full:] = np.maximum(std[..., n_full:], spread[..., n_full:])
    return result.reconstruction, std


def _portable(layer_set):
    """The fitted layers without the learning sample's maps, to travel with every task."""
    return dataclasses.replace(layer_set, maps=None)


def layer_maps(spectra, layer_set, guide=None):
    """Lazy layer maps ``(F, R, C, N)`` of spectra tiles, the guide (if any) first.

    Parameters
    ----------
    spectra : dask.array.Array, shape (F, R, C, E)
        Chunked on the tile grid (see :func:`as_tiles`).
    layer_set : hyperspy_cs.layers.SpectralLayers
        The fitted layers.
    guide : dask.array.Array, shape (F, R, C, 1), optional
        Chunked like ``spectra``.
    """
    n_out = len(layer_set.names) + (guide is not None)
    inputs = (spectra,) if guide is None else (spectra, guide)
    return da.map_blocks(_layer_block, *inputs, layer_set=_portable(layer_set),
                         chunks=(*spectra.chunks[:3], (n_out,)), dtype=np.float64,
                         meta=np.empty((0, 0, 0, 0)))


def _layer_block(spectra, guide=None, *, layer_set):
    layers = layer_set.project(spectra)
    return layers if guide is None else np.concatenate([guide, layers], axis=-1)


def rebuild(maps, layer_set):
    """Lazy float32 spectra ``(F, R, C, E)`` from lazy spectral layer maps ``(F, R, C, L)``."""
    n_channels = layer_set.rebuild_matrix.shape[1]
    return da.map_blocks(_rebuild_block, maps, layer_set=_portable(layer_set),
                         chunks=(*maps.chunks[:3], (n_channels,)), dtype=np.float32,
                         meta=np.empty((0, 0, 0, 0), np.float32))


def _rebuild_block(maps, *, layer_set):
    return layer_set.rebuild(maps)


def window_stack(array, windows):
    """``array[f, row0:row1, col0:col1]`` of each window, stacked: ``(n, h, w, ...)``."""
    return np.stack([array[f, r0:r1, c0:c1] for f, r0, r1, c0, c1 in windows])


def layer_sample(spectra, *, seed):
    """At most ``LAYER_SPECTRA`` of the sampled spectra ``(n, E)`` (drawn with the seed)."""
    if len(spectra) <= LAYER_SPECTRA:
        return spectra
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1A7E]))
    return spectra[np.sort(rng.choice(len(spectra), LAYER_SPECTRA, replace=False))]
