"""BPFA inpainting and denoising of images and spectrum images (HyperSpy layer).

Both functions run the same engine (:mod:`hyperspy_cs._bpfa`): an image is the
``N = 1`` case of ``b x b x N`` patches; a spectrum image is reconstructed through
``N`` layers, an optional fully sampled guide image (BSE/HAADF) plus spectral
layers (:mod:`hyperspy_cs.layers`), and its full spectra are rebuilt from the
reconstructed layers.

A lazy result (lazy input, or ``lazy_output=True``) is the same engine run on
overlapping tiles after a bounded learning pass (:mod:`hyperspy_cs._tiling`), so
that maps larger than memory are reconstructed tile by tile on ``compute()`` or
``save()``.
"""

import dataclasses
import time

import dask.array as da
import numpy as np

from . import _scan, _tiling
from ._bpfa import bpfa
from ._reconstruct import check_finite_samples, output_signal, resolve_mask, scan_data
from ._validate import (
    as_rng,
    check_positive_int,
    check_positive_number,
    check_real_dtype,
    resolve_progressbar,
)
from .dictionary import BPFADictionary
from .guide import check_guide
from .layers import spectral_layers

__all__ = ["inpaint_bpfa", "inpaint_bpfa3d", "get_dictionary"]


def _dictionary_atoms(dictionary, n_layers):
    if dictionary is None:
        return None
    atoms = dictionary.to_atoms() if isinstance(dictionary, BPFADictionary) else np.asarray(
        dictionary, dtype=np.float32
    )
    if atoms.ndim != 4 or atoms.shape[1] != atoms.shape[2]:
        raise ValueError(
            f"dictionary: expected a BPFADictionary or a (K, b, b, N) array, got shape {atoms.shape}"
        )
    if atoms.shape[3] != n_layers:
        raise ValueError(
            f"dictionary: it has {atoms.shape[3]} layer(s) but the data have {n_layers}; "
            "a dictionary transfers between data with the same layers"
        )
    return atoms


def _check_patch_size(patch_size, dictionary, scan_shape):
    """``patch_size``, or the dictionary's when None, checked against the scan ``(R, C)``."""
    if dictionary is not None:
        side = (dictionary.patch_size if isinstance(dictionary, BPFADictionary)
                else np.shape(dictionary)[1] if np.ndim(dictionary) == 4 else None)
        if side is not None and patch_size is None:
            patch_size = side
        elif side is not None and patch_size != side:
            raise ValueError(
                f"patch_size: the dictionary's atoms are {side} x {side}, "
                f"got patch_size={patch_size}"
            )
    patch_size = check_positive_int(patch_size, name="patch_size", minimum=2)
    if patch_size > min(scan_shape):
        raise ValueError(
            f"patch_size: {patch_size} px patches do not fit in the {scan_shape[0]} x "
            f"{scan_shape[1]} scan; use a smaller patch_size"
        )
    return patch_size


def _run_engine(signal, data, observed, *, names, layer_weights, patch_size, dictionary, seed,
                show_progressbar, engine_options):
    """Run the sampler and collect what every BPFA result records."""
    atoms = _dictionary_atoms(dictionary, data.shape[-1])
    patch_size = _check_patch_size(patch_size, dictionary, data.shape[1:3])
    for name in ("n_atoms", "n_iter", "step"):
        if engine_options.get(name) is not None:
            check_positive_int(engine_options[name], name=name)
    n_iter, burn_in = engine_options.get("n_iter"), engine_options.get("burn_in")
    if burn_in is not None:
        check_positive_int(burn_in, name="burn_in", minimum=0)
        if n_iter is not None and burn_in >= n_iter:
            raise ValueError(f"burn_in: expected fewer than n_iter={n_iter} sweeps, got {burn_in}")
    _, recorded_seed = as_rng(seed)
    options = {k: v for k, v in engine_options.items() if v is not None}
    start = time.perf_counter()
    result = bpfa(
        data,
        observed,
        patch_size=patch_size,
        dictionary=atoms,
        layer_weights=layer_weights,
        seed=recorded_seed,
        show_progressbar=resolve_progressbar(show_progressbar),
        **options,
    )
    runtime = time.perf_counter() - start
    learned = BPFADictionary.from_atoms(
        result.dictionary,
        pi=result.pi,
        gamma_e=result.gamma_e,
        gamma_s=result.gamma_s,
        layer_names=names,
        title=f"BPFA dictionary of {signal.metadata.get_item('General.title', '') or 'signal'}",
    )
    extra = {
        "seed": recorded_seed,
        "noise_std": result.noise_std if result.noise_std.size > 1 else float(result.noise_std[0]),
        "atoms_used": int(result.atoms_used),
        "trace": {k: np.asarray(v) for k, v in result.trace.items()},
        "runtime": runtime,
        "layer_names": list(names),
        "dictionary": learned,
    }
    parameters = {"patch_size": patch_size, **engine_options, "seed": recorded_seed}
    return result, extra, parameters


_LAZY_DOC = """
    Notes
    -----
    **Lazy results** (lazy input, or ``lazy_output=True``). Maps larger than memory are reconstructed in bounded memory: when the
    function is called, a learning pass reads at most ``learning_positions`` scan
    positions (square windows drawn with the seed among those holding sampled
    positions, or the whole map if it is that small) and learns the dictionary,
    the hyper-parameters and the per-layer normalisation there; nothing else is
    read until ``compute()`` or ``save()``, which reconstruct the map in
    overlapping tiles of ``tile_size`` pixels with the learned dictionary held
    fixed (``dask.array.map_overlap``; the halo is ``patch_size - 1`` pixels, so
    there are no seams: the tiled result equals the single-block one, see
    :mod:`hyperspy_cs._tiling`). The result does not depend on the input's
    chunking (chunks along the spectral axis are merged). It differs from the eager
    result, which learns on the whole map in one chain.

    Any Dask scheduler runs the tiles: the threaded one by default, or a
    ``dask.distributed`` cluster once a client exists
    (``from dask.distributed import Client; Client("tcp://scheduler:8786")`` for
    an existing cluster, ``Client(LocalCluster(n_workers=2,
    threads_per_worker=1))`` for local processes); the input file must be
    readable from the workers. ``result.compute(show_progressbar=True)`` and
    ``result.save(..., show_progressbar=True)`` show Dask's progress bar
    (``dask.distributed.progress`` on a cluster); ``show_progressbar`` here is
    the learning pass's.

    ``metadata.Reconstruction`` holds what the learning pass found:
    ``dictionary``, ``noise_std``, ``atoms_used``, ``trace`` and ``runtime`` are
    the learning pass's (``runtime`` does not include the tiles), plus
    ``tiling``: ``tile_size``, ``depth`` (halo, px), ``learning_windows``
    (``(frame, row0, row1, col0, col1)`` per window) and ``empty_tiles``
    (``(row0, row1, col0, col1)`` of each tile with no sampled position within
    its halo: filled from the dictionary through the guide if there is one, else
    with the layer mean and, in ``std``, the layer's spread). With
    ``uncertainty``, ``std`` is lazy too and computing it runs the tiles again."""


def _lazy(signal, lazy_output):
    if lazy_output is not None and not isinstance(lazy_output, bool):
        raise TypeError(f"lazy_output: expected None, True or False, got {lazy_output!r}")
    return signal._lazy if lazy_output is None else lazy_output


def _sweeps(engine_options):
    return {k: engine_options[k] for k in ("n_iter", "burn_in", "step")
            if engine_options.get(k) is not None}


@dataclasses.dataclass(frozen=True)
class _LazyPlan:
    """How a lazy result is cut: checked sizes, learning windows and tile chunks."""

    patch_size: int
    tile_size: int
    learning_positions: int
    windows: np.ndarray
    chunks: tuple


def _lazy_plan(layout, observed, *, patch_size, dictionary, tile_size, n_channels,
               learning_positions, seed):
    """Check the lazy options and place the learning windows and the tiles."""
    patch_size = _check_patch_size(patch_size, dictionary, layout.scan_shape)
    tile = _tiling.tile_size_for(tile_size, n_channels=n_channels, patch_size=patch_size)
    positions = _tiling.check_learning_positions(learning_positions, patch_size=patch_size)
    return _LazyPlan(
        patch_size=patch_size,
        tile_size=tile,
        learning_positions=positions,
        windows=_tiling.learning_windows(observed, positions=positions, patch_size=patch_size,
                                         seed=seed),
        chunks=_tiling.tile_chunks(layout.scan_shape, tile_size=tile, patch_size=patch_size),
    )


def _learn_and_tile(signal, observed, plan, *, window_maps, window_observed, tiles, names,
                    n_full, layer_weights, dictionary, seed, show_progressbar, uncertainty,
                    engine_options):
    """Learning pass on the windows, then the lazy tile pass over ``tiles`` (layer maps).

    Returns the packed lazy layers (means, then stds with ``uncertainty``), and
    the ``extra`` and ``parameters`` to record.
    """
    result, extra, parameters = _run_engine(
        signal, window_maps, window_observed, names=names, layer_weights=layer_weights,
        patch_size=plan.patch_size, dictionary=dictionary, seed=seed,
        show_progressbar=show_progressbar, engine_options=engine_options,
    )
    packed = _tiling.tile_pass(
        tiles, _tiling.as_tiles(observed[..., None], plan.chunks), result,
        patch_size=plan.patch_size, n_full=n_full, layer_weights=layer_weights, seed=seed,
        sweeps=_sweeps(engine_options), uncertainty=uncertainty,
    )
    extra["tiling"] = {
        "tile_size": plan.tile_size,
        "depth": plan.patch_size - 1,
        "learning_windows": plan.windows,
        "empty_tiles": _tiling.empty_tiles(observed, plan.chunks, patch_size=plan.patch_size),
    }
    parameters.update(tile_size=plan.tile_size, learning_positions=plan.learning_positions)
    return packed, extra, parameters


def inpaint_bpfa(
    signal,
    *,
    patch_size=8,
    n_atoms=None,
    n_iter=None,
    burn_in=None,
    step=1,
    dictionary=None,
    learn_dictionary=True,
    mask=None,
    seed=None,
    uncertainty=False,
    show_progressbar=None,
    lazy_output=None,
    tile_size=None,
    learning_positions=2**16,
):
    """Reconstruct (inpaint or denoise) an image with BPFA dictionary learning.

    Parameters
    ----------
    signal : hyperspy.signals.Signal2D
        A sub-sampled image, or a stack of frames (they share one dictionary).
    patch_size : int
        Side ``b`` of the square patches, in pixels. About the size of the
        smallest feature to resolve (an atomic column, a grain boundary).
    n_atoms : int, optional
        Dictionary size ``K``; the engine's default if None.
    n_iter, burn_in : int, optional
        Gibbs sweeps in all and sweeps discarded before averaging (the engine's
        defaults: 40 and 20). The burn-in is tempered (the noise precision is
        capped while it lasts); clean images gain from a longer one, see the
        user guide.
    step : int
        Average every ``step``-th sweep after the burn-in (thinning: a little
        faster, as the image estimate is formed only for the averaged sweeps).
    dictionary : BPFADictionary or numpy.ndarray, optional
        A dictionary learned before (``get_dictionary(result)``): it seeds
        learning, or with ``learn_dictionary=False`` is used as it is (sparse
        coding only, much faster).
    learn_dictionary : bool
        Whether the dictionary is learned.
    mask : numpy.ndarray of bool, optional
        Visited positions ``(rows, cols)``, True = visited. Default:
        ``metadata.Acquisition.Subsampling.sampled``; with neither, every
        position counts as acquired and the image is denoised.
    seed : None, int or numpy.random.Generator
        Seed of the sampler; the integer used is stored with the result.
    uncertainty : bool
        Also compute the posterior standard deviation per pixel, stored as a
        signal in ``metadata.Reconstruction.std``.
    show_progressbar : bool, optional
        Default: HyperSpy's preference.
    lazy_output : bool, optional
        None: lazy output for lazy input; True also for eager input.
    tile_size : int, optional
        Lazy results only: side of the tiles in pixels (at least
        ``patch_size``). Default: 512 for images; for spectrum images the size
        whose float32 spectra fit in 64 MiB (128 at 1024 channels), 64 to 512.
    learning_positions : int
        Lazy results only: most scan positions the learning pass reads.

    Returns
    -------
    hyperspy.signals.Signal2D
        The reconstruction, same class, shape and calibration, float data.
        ``metadata.Reconstruction`` holds the method, parameters, seed, the
        estimated noise level ``noise_std`` (data units), ``atoms_used``, the
        per-sweep ``trace`` (``gamma_e``, ``gamma_s``, ``loglik``,
        ``n_active``), ``runtime`` (s) and the learned ``dictionary``.

    See Also
    --------
    inpaint_bpfa3d : spectrum images, with a guide image.
    """
    layout = _scan.scan_layout(signal)
    if layout.kind != "image":
        raise _scan.ScanAxesError(
            "signal: inpaint_bpfa works on images (Signal2D); for a spectrum image use "
            "inpaint_bpfa3d(signal, guide=...)"
        )
    check_real_dtype(signal.data.dtype)
    lazy = _lazy(signal, lazy_output)
    observed, source = resolve_mask(signal, layout, mask)
    engine_options = {"n_atoms": n_atoms, "n_iter": n_iter, "burn_in": burn_in, "step": step,
                      "learn_dictionary": learn_dictionary, "uncertainty": uncertainty}
    names = [signal.metadata.get_item("General.title", "") or "image"]
    if lazy:
        _, recorded_seed = as_rng(seed)
        plan = _lazy_plan(layout, observed, patch_size=patch_size, dictionary=dictionary,
                          tile_size=tile_size, n_channels=1,
                          learning_positions=learning_positions, seed=recorded_seed)
        data = _scan.to_canonical(signal.data, layout)
        window_maps = np.stack(list(_tiling.read_windows(data, plan.windows))).astype(np.float64)
        window_observed = _tiling.window_stack(observed, plan.windows)[..., None]
        check_finite_samples(window_maps[window_observed])
        tiles = _tiling.as_tiles(data, plan.chunks).astype(np.float64)
        packed, extra, parameters = _learn_and_tile(
            signal, observed, plan, window_maps=window_maps, window_observed=window_observed,
            tiles=tiles, names=names, n_full=0, layer_weights=None, dictionary=dictionary,
            seed=recorded_seed, show_progressbar=show_progressbar, uncertainty=uncertainty,
            engine_options=engine_options,
        )
        reconstruction, std = packed[..., :1], packed[..., 1:]
    else:
        data = scan_data(signal, layout).astype(np.float64)
        check_finite_samples(data[observed])
        result, extra, parameters = _run_engine(
            signal, data, observed[..., None], names=names, layer_weights=None,
            patch_size=patch_size, dictionary=dictionary, seed=seed,
            show_progressbar=show_progressbar, engine_options=engine_options,
        )
        reconstruction, std = result.reconstruction, result.std
    if uncertainty:
        std = output_signal(signal, layout, std, method="BPFA posterior std",
                            parameters={}, mask_source=source, lazy_output=lazy)
        del std.metadata.Reconstruction
        extra["std"] = std
    return output_signal(signal, layout, reconstruction, method="BPFA",
                         parameters=parameters, mask_source=source, extra=extra,
                         lazy_output=lazy)


inpaint_bpfa.__doc__ += _LAZY_DOC


def _check_counts(data, dtype):
    """Integer counts at the top of their dtype have wrapped or saturated on acquisition."""
    if dtype.kind in "iu" and dtype.itemsize <= 2 and data.size and data.max() >= np.iinfo(dtype).max:
        raise ValueError(
            f"signal: counts reach the largest {dtype} value ({np.iinfo(dtype).max}); they have "
            "overflowed or saturated. Re-export the data with a wider integer type, or "
            "mask the affected positions out"
        )


def _layer_stack(signal, layout, array, title, names):
    """A Signal2D stack (lazy for a dask ``array``) of layer maps ``(F, R, C, N)``."""
    from hyperspy.signals import LazySignal2D, Signal2D

    x_axis, y_axis = _scan.scan_axes(signal, layout)
    stacked = (da if isinstance(array, da.Array) else np).moveaxis(
        array.reshape(*layout.frame_shape, *layout.scan_shape, -1), -1, 0)
    stack = (LazySignal2D if isinstance(array, da.Array) else Signal2D)(
        stacked,
        axes=[{"name": "layer", "size": array.shape[-1], "navigate": True}]
        + [{"name": a.name, "size": a.size, "navigate": True, "units": a.units} for a in
           reversed(signal.axes_manager.navigation_axes[2:])]
        + [y_axis.get_axis_dictionary() | {"navigate": False},
           x_axis.get_axis_dictionary() | {"navigate": False}],
    )
    stack.metadata.General.title = title
    stack.metadata.set_item("Reconstruction.layer_names", names)
    return stack


def inpaint_bpfa3d(
    signal,
    guide=None,
    *,
    layers="auto",
    guide_weight=1.0,
    patch_size=6,
    n_atoms=None,
    n_iter=None,
    burn_in=None,
    step=1,
    dictionary=None,
    learn_dictionary=True,
    mask=None,
    seed=None,
    uncertainty=False,
    show_progressbar=None,
    lazy_output=None,
    tile_size=None,
    learning_positions=2**16,
):
    """Reconstruct a spectrum image with 3-D ``b x b x N`` BPFA and a guide image.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A sub-sampled (or noisy, fully sampled) spectrum image: EDS, EELS or any
        Signal1D with two navigation axes.
    guide : hyperspy.signals.Signal2D or numpy.ndarray, optional
        A fully sampled image of the same scan grid (BSE for SEM, HAADF for
        STEM). Its edges steer the reconstruction of the spectral layers. A
        guide recorded at another resolution: :func:`hyperspy_cs.resample_guide`.
    layers : {"auto", "pca", "lines"} or int
        The spectral layers, see :func:`hyperspy_cs.layers.spectral_layers`:
        PCA scores of the sampled spectra (``"auto"``/``"pca"``, or that many
        components) or X-ray line intensities (``"lines"``, needs elements).
    guide_weight : float
        Weight of the guide in the likelihood (multiplies its noise precision):
        above 1 trusts the guide more, below 1 less.
    patch_size, n_atoms, n_iter, burn_in, step, dictionary, learn_dictionary, mask, seed, uncertainty, show_progressbar, lazy_output, tile_size, learning_positions
        As in :func:`inpaint_bpfa`. For a lazy result the spectral layers are
        fitted on the sampled spectra of the learning windows (at most 8192 of
        them, drawn with the seed). The learning pass holds the sampled spectra
        of the windows and one window of full spectra at a time: about
        ``learning_positions * (fraction + 1 / n_windows) * E`` values.

    Returns
    -------
    hyperspy.signal.BaseSignal
        The spectrum image (same class, shape and calibration; float32 data)
        with full spectra rebuilt from the reconstructed layers at every position.
        ``metadata.Reconstruction`` holds what :func:`inpaint_bpfa` records, plus
        ``layers`` (a Signal2D stack of the reconstructed layer maps, the guide
        first if any; eager results only, a lazy result would have to run its
        tiles again to save it) and, with ``uncertainty``, ``std`` (their
        posterior standard deviation).
    """
    layout = _scan.scan_layout(signal)
    if layout.kind != "spectrum_image":
        raise _scan.ScanAxesError(
            "signal: inpaint_bpfa3d works on spectrum images (1 signal axis, 2 navigation "
            "axes); for an image use inpaint_bpfa"
        )
    dtype = check_real_dtype(signal.data.dtype)
    guide_weight = check_positive_number(guide_weight, name="guide_weight")
    lazy = _lazy(signal, lazy_output)
    observed, source = resolve_mask(signal, layout, mask)
    guide_data = None if guide is None else check_guide(guide, layout)
    _, recorded_seed = as_rng(seed)
    engine_options = {"n_atoms": n_atoms, "n_iter": n_iter, "burn_in": burn_in, "step": step,
                      "learn_dictionary": learn_dictionary, "uncertainty": uncertainty}
    n_full = 0 if guide_data is None else 1
    guide_names, guide_weights = [], []
    if guide_data is not None:
        guide_names = [(guide.metadata.get_item("General.title", "")
                        if hasattr(guide, "metadata") else "") or "guide"]
        guide_weights = [guide_weight]

    def with_guide(maps, layer_observed, guide_maps):
        """Layer maps and their mask with the fully observed guide in front."""
        if guide_data is None:
            return maps, layer_observed
        return (np.concatenate([guide_maps, maps], axis=-1),
                np.concatenate([np.ones_like(layer_observed[..., :1]), layer_observed], -1))

    if lazy:
        plan = _lazy_plan(layout, observed, patch_size=patch_size, dictionary=dictionary,
                          tile_size=tile_size, n_channels=layout.n_channels,
                          learning_positions=learning_positions, seed=recorded_seed)
        data = _scan.to_canonical(signal.data, layout)
        window_observed = _tiling.window_stack(observed, plan.windows)
        spectra = np.concatenate([block[obs] for block, obs in
                                  zip(_tiling.read_windows(data, plan.windows), window_observed)])
        check_finite_samples(spectra)
        _check_counts(spectra, dtype)
        sample = _tiling.layer_sample(spectra, seed=recorded_seed)
        layer_set = spectral_layers(signal, sample[None, None], np.ones((1, 1, len(sample)), bool),
                                    layers=layers, seed=recorded_seed)
        window_maps = np.zeros((*window_observed.shape, len(layer_set.names)))
        window_maps[window_observed] = layer_set.project(spectra)
        window_maps, window_layer_observed = with_guide(
            window_maps, np.repeat(window_observed[..., None], window_maps.shape[-1], -1),
            None if guide_data is None else _tiling.window_stack(guide_data, plan.windows))
        tiles = _tiling.layer_maps(
            _tiling.as_tiles(data, plan.chunks), layer_set,
            None if guide_data is None else _tiling.as_tiles(guide_data, plan.chunks))
        names = guide_names + list(layer_set.names)
        weights = np.concatenate([guide_weights, np.ones(len(layer_set.names))])
        packed, extra, parameters = _learn_and_tile(
            signal, observed, plan, window_maps=window_maps,
            window_observed=window_layer_observed, tiles=tiles, names=names, n_full=n_full,
            layer_weights=weights, dictionary=dictionary, seed=recorded_seed,
            show_progressbar=show_progressbar, uncertainty=uncertainty,
            engine_options=engine_options,
        )
        n_layers = len(names)
        spectra_out = _tiling.rebuild(packed[..., n_full:n_layers], layer_set)
        layer_maps, layer_std = None, packed[..., n_layers:]
    else:
        data = scan_data(signal, layout)
        check_finite_samples(data[observed])
        _check_counts(data[observed], dtype)
        layer_set = spectral_layers(signal, data, observed, layers=layers, seed=recorded_seed)
        maps, layer_observed = with_guide(
            layer_set.maps, np.repeat(observed[..., None], layer_set.maps.shape[-1], axis=-1),
            guide_data)
        names = guide_names + list(layer_set.names)
        weights = np.concatenate([guide_weights, np.ones(len(layer_set.names))])
        result, extra, parameters = _run_engine(
            signal, maps, layer_observed, names=names, layer_weights=weights,
            patch_size=patch_size, dictionary=dictionary, seed=recorded_seed,
            show_progressbar=show_progressbar, engine_options=engine_options,
        )
        spectra_out = layer_set.rebuild(result.reconstruction[..., n_full:])
        layer_maps, layer_std = result.reconstruction, result.std

    parameters.update(layers=str(layers), guide_weight=guide_weight,
                      guide="None" if guide_data is None else names[0])
    if layer_maps is not None:
        extra["layers"] = _layer_stack(signal, layout, layer_maps, "BPFA layer maps", names)
    extra["layer_kind"] = layer_set.kind
    if uncertainty:
        extra["std"] = _layer_stack(signal, layout, layer_std,
                                    "BPFA layer maps, posterior std", names)
    return output_signal(signal, layout, spectra_out, method="BPFA3D", parameters=parameters,
                         mask_source=source, extra=extra, lazy_output=lazy)


inpaint_bpfa3d.__doc__ += _LAZY_DOC


def get_dictionary(signal):
    """The BPFA dictionary stored with a reconstruction.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        The result of :func:`inpaint_bpfa` or :func:`inpaint_bpfa3d` (also after
        saving and loading it).

    Returns
    -------
    BPFADictionary
    """
    dictionary = signal.metadata.get_item("Reconstruction.dictionary")
    if dictionary is None:
        raise ValueError("signal: no metadata.Reconstruction.dictionary; it is not a BPFA result")
    if not isinstance(dictionary, BPFADictionary):
        # .hspy files bring nested signals back as the class of their signal type
        # only when the registration is known; rebuild it otherwise.
        dictionary = BPFADictionary(dictionary.data, axes=_scan.axis_dicts(dictionary),
                                    metadata=dictionary.metadata.as_dictionary())
    return dictionary
