"""BPFA inpainting and denoising of images and spectrum images (HyperSpy layer).

Both functions run the same engine (:mod:`hyperspy_cs.bpfa._engine`): an image is the
``N = 1`` case of ``b x b x N`` patches; a spectrum image is reconstructed through
``N`` layers, an optional fully sampled guide image (BSE/HAADF) plus spectral
layers (:mod:`hyperspy_cs._layers`), and its full spectra are rebuilt from the
reconstructed layers.

A lazy result (lazy input, or ``lazy_output=True``) is the same engine run on
overlapping tiles after a bounded learning pass (:mod:`hyperspy_cs.bpfa._lazy`), so
that maps larger than memory are reconstructed tile by tile on ``compute()`` or
``save()``.
"""

import math
import time

import dask.array as da
import numpy as np

from .. import _scan
from .._docstrings import fill_doc
from .._guide import check_guide, with_guide
from .._layers import check_counts, layer_spec, spectral_layers
from .._reconstruct import (
    check_finite_samples,
    output_signal,
    resolve_mask,
    scan_data,
)
from .._validate import (
    as_rng,
    check_bool,
    check_positive_int,
    check_positive_number,
    check_real_dtype,
    resolve_progressbar,
    wants_lazy,
)
from . import _backend, _kernels, _lazy
from ._engine import N_ATOMS, bpfa, resolve_sweeps
from ._likelihood import (
    check_likelihood,
    image_count_unit,
    layer_count_units,
    recorded_dose,
    used,
)
from ._patch_size import resolve_patch_size
from .dictionary import BPFADictionary

__all__ = ["inpaint_bpfa", "inpaint_bpfa3d", "get_dictionary"]


def _dictionary_atoms(dictionary):
    """The atoms ``(K, b, b, N)`` of ``dictionary`` (None stays None), read once per call."""
    if dictionary is None:
        return None
    atoms = dictionary.to_atoms() if isinstance(dictionary, BPFADictionary) else np.asarray(
        dictionary, dtype=np.float32
    )
    if atoms.ndim != 4 or atoms.shape[1] != atoms.shape[2]:
        raise ValueError(
            f"dictionary: expected a BPFADictionary or a (K, b, b, N) array, got shape {atoms.shape}"
        )
    return atoms


def _check_layers(atoms, n_layers):
    """A transferred dictionary must have the data's layers."""
    if atoms is not None and atoms.shape[3] != n_layers:
        raise ValueError(
            f"dictionary: it has {atoms.shape[3]} layer(s) but the data have {n_layers}; "
            "a dictionary transfers between data with the same layers"
        )


def _engine_options(atoms, *, n_atoms, n_iter, burn_in, step, patch_stride, learn_dictionary,
                    uncertainty):
    """The engine options, checked before any data are read, with the defaults the
    engine would take resolved, so that ``metadata.Reconstruction`` records what ran."""
    n_iter, burn_in = resolve_sweeps(n_iter, burn_in)
    if n_atoms is not None:
        n_atoms = check_positive_int(n_atoms, name="n_atoms")
    elif atoms is not None:
        n_atoms = len(atoms)
    return {"n_atoms": N_ATOMS if n_atoms is None else n_atoms, "n_iter": n_iter,
            "burn_in": burn_in, "step": check_positive_int(step, name="step"),
            "patch_stride": check_positive_int(patch_stride, name="patch_stride"),
            "learn_dictionary": check_bool(learn_dictionary, name="learn_dictionary"),
            "uncertainty": check_bool(uncertainty, name="uncertainty")}


def _title(signal):
    return signal.metadata.get_item("General.title", "") or "signal"


def _per_layer(values):
    """A per-layer array ``(..., N)`` as metadata holds it: without its axis for one layer."""
    values = np.asarray(values)
    if values.shape[-1] != 1:
        return values
    return values[..., 0] if values.ndim > 1 else float(values[0])


def _record(result, *, names, title, runtime):
    """What a BPFA result records of its engine run (``metadata.Reconstruction``)."""
    trace = {k: np.asarray(v) for k, v in result.trace.items()}
    trace["gamma_e"] = _per_layer(trace["gamma_e"])
    floor = ({"noise_floor": _per_layer(result.noise_floor),
              "atom_prior_scale": _per_layer(result.atom_prior_scale)}
             if result.count_unit.any() else {})
    return floor | {
        "noise_std": _per_layer(result.noise_std),
        "atoms_used": int(result.atoms_used),
        "trace": trace,
        "runtime": runtime,
        "layer_names": list(names),
        "dictionary": BPFADictionary.from_atoms(
            result.dictionary, pi=result.pi, gamma_e=_per_layer(result.gamma_e),
            gamma_s=result.gamma_s, layer_names=names, layer_offset=result.layer_offset,
            layer_scale=result.layer_scale, count_unit=result.count_unit,
            count_gain=result.count_gain,
            title=f"BPFA dictionary of {title}"),
    }


def _peak_bytes(shape, *, patch_size, n_atoms, uncertainty, n_channels, fraction=1.0,
                patch_stride=1):
    """Memory an eager run allocates for layers ``(F, R, C, N)`` and ``n_channels`` spectra.

    The engine (``_backend.CPUBackend``) holds the codes (``n x K`` float32, ``K``
    rounded up to whole blocks of atoms), the patch estimates (``n x b*b*N``
    float32), the observed entries of every patch with their residuals (int32 and
    float32 each, ``n * b*b*N * fraction`` for ``fraction`` of the entries
    observed), the dictionary update's usage (``K x b*b*N`` float64) and the
    factors of one batch of atoms; the running estimate, mean and spread are ``F x
    R x C x N`` float64; the rebuilt spectra (float32) exist twice while they are
    made.
    """
    F, R, C, N = shape
    n_patches = F * math.prod(-(-(side - patch_size) // patch_stride) + 1 for side in (R, C))
    entries = patch_size**2 * N
    atoms = -(-n_atoms // _kernels.BLOCK) * _kernels.BLOCK
    engine = 4 * n_patches * (entries + atoms) + 8 * atoms * entries
    engine += 8 * n_patches * max(1.0, entries * fraction)
    engine += min(_backend.FACTOR_BYTES, 8 * atoms * N * patch_size**4)
    estimates = (24 if uncertainty else 16) * F * R * C * N
    return engine + estimates + 8 * F * R * C * n_channels


def _check_memory(peak):
    """Refuse an eager run that would not fit in the memory available now."""
    import psutil

    available = psutil.virtual_memory().available
    if peak > available:
        raise MemoryError(
            f"signal: an eager reconstruction needs about {peak / 2**30:.1f} GiB and "
            f"{available / 2**30:.1f} GiB are available; pass lazy_output=True to "
            "reconstruct it tile by tile in bounded memory (or use a smaller patch_size)"
        )


def _run_engine(signal, data, observed, *, names, layer_weights, count_unit, likelihood_reason,
                patch_size, atoms, seed, show_progressbar, engine_options, n_channels=0):
    """Run the sampler on data in memory and collect what every BPFA result records.

    ``count_unit`` and ``likelihood_reason``: the layers sampled as counts, and
    why (:mod:`hyperspy_cs.bpfa._likelihood`). ``n_channels``: the spectra
    rebuilt from the layers afterwards (0 for an image), counted in the memory
    check.
    """
    _check_memory(_peak_bytes(data.shape, patch_size=patch_size,
                              n_atoms=engine_options["n_atoms"],
                              uncertainty=engine_options["uncertainty"], n_channels=n_channels,
                              fraction=float(np.mean(observed)),
                              patch_stride=engine_options["patch_stride"]))
    _check_layers(atoms, data.shape[-1])
    _, recorded_seed = as_rng(seed)
    start = time.perf_counter()
    result = bpfa(
        data,
        observed,
        patch_size=patch_size,
        dictionary=atoms,
        layer_weights=layer_weights,
        count_unit=count_unit,
        seed=recorded_seed,
        show_progressbar=resolve_progressbar(show_progressbar),
        **engine_options,
    )
    extra = _record(result, names=names, title=_title(signal),
                    runtime=time.perf_counter() - start)
    extra.update(seed=recorded_seed, likelihood=used(likelihood_reason),
                 likelihood_reason=likelihood_reason)
    parameters = {"patch_size": patch_size, **engine_options, "seed": recorded_seed}
    return result, extra, parameters


_LAZY_DOC = """
    Notes
    -----
    **Lazy results** (lazy input, or ``lazy_output=True``). Maps larger than
    memory are reconstructed in bounded memory by a Dask graph; the call reads
    nothing but the scan mask (and the guide image, or for an image with
    ``patch_size="auto"`` its central window of at most 512 x 512 pixels, which
    decides whether it is a crystal), and ``compute()`` or ``save()`` run the
    graph (:mod:`hyperspy_cs.bpfa._lazy`):

    1. for a spectrum image, one streaming pass over the whole map sums the
       moments of the sampled spectra, which fit the spectral layers exactly as
       for a map in memory;
    2. a learning pass reads at most ``learning_positions`` scan positions (square
       windows drawn with the seed among those holding sampled positions, or the
       whole map if it is that small) and learns the dictionary, the
       hyper-parameters and the per-layer normalisation there;
    3. overlapping tiles of ``tile_size`` pixels are reconstructed with the learned
       dictionary held fixed (``dask.array.map_overlap``; the halo is
       ``patch_size - 1`` pixels, so there are no seams: the tiled result equals
       the single-block one).

    The result does not depend on the input's chunking (chunks along the spectral
    axis are merged). It differs from the eager result, which learns on the whole
    map in one chain. Bad values met on the way (NaN, saturated counts) raise
    when the graph runs.

    Any Dask scheduler runs the graph: the threaded one by default, or a
    ``dask.distributed`` cluster once a client exists
    (``from dask.distributed import Client; Client("tcp://scheduler:8786")`` for
    an existing cluster, ``Client(LocalCluster(n_workers=2,
    threads_per_worker=1))`` for local processes); the input file must be
    readable from the workers. ``result.compute(show_progressbar=True)`` and
    ``result.save(..., show_progressbar=True)`` show Dask's progress bar
    (``dask.distributed.progress`` on a cluster); ``show_progressbar`` here is
    the learning pass's.

    ``metadata.Reconstruction`` holds at the call what needs no data: the
    method, ``parameters``, ``seed`` and ``tiling``: ``tile_size``, ``depth``
    (halo, px), ``learning_windows`` (``(frame, row0, row1, col0, col1)`` per
    window), ``empty_tiles`` (``(row0, row1, col0, col1)`` of each tile with no
    sampled position within its halo: filled from the dictionary through the
    guide if there is one, else with the layer mean and, in ``std``, the layer's
    spread) and ``learning_pass``, the key of the learning pass in the graph.
    What the learning pass finds (``dictionary``, ``noise_std``, ``atoms_used``,
    ``trace``, ``runtime`` of the learning pass, ``layer_names``) is recorded
    there by :func:`get_dictionary`: after ``compute()`` it is at hand (threaded
    scheduler); before, it runs the streaming and learning passes alone, and the
    result's graph keeps what they found, so that ``compute()`` and ``save()``
    do not run them again. Call it before ``save()`` to have the dictionary in
    the file. With ``uncertainty``, ``std`` is lazy too (the same graph: compute
    both at once with ``dask.compute``)."""


@fill_doc
def inpaint_bpfa(
    signal,
    *,
    patch_size="auto",
    patch_stride=1,
    n_atoms=None,
    n_iter=None,
    burn_in=None,
    step=1,
    dictionary=None,
    learn_dictionary=True,
    likelihood="auto",
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
    patch_size : int or "auto"
        Side ``b`` of the square patches, in pixels: about the size of the
        smallest feature to resolve (an atomic column, a grain boundary).
        ``"auto"`` (or None): the dictionary's, else grown as the sampling
        fraction ``f`` drops so that a patch holds about a dozen visited
        pixels, ``ceil(sqrt(12 / f))`` within 8-20 px (8 px from 19 % up, 11
        at 10 %, 16 at 5 %, 20 at 3 % and below), or two dozen when the image
        shows a crystal lattice (10 px at 25 %, 16 at 10 %, 20 at 5 %); at most
        an eighth of the scan's shorter side.
        ``metadata.Reconstruction.patch_size_reason`` says how it was chosen.
    %(patch_stride)s
    %(n_atoms)s
    %(sweeps)s
    %(step)s
    %(dictionary)s
    likelihood : {"auto", "gaussian", "poisson"}
        The noise model. ``"poisson"``: the values are counts (whole multiples
        of one unit, which is found from them), sampled as their Anscombe values
        and brought back by its exact unbiased inverse, so that the noise level
        follows the counts and the result is never negative. ``"auto"`` (or
        None): Poisson when the image is a dose simulation
        (``subsample(dose=...)``, or a :mod:`hyperspy_cs.data` image made with a
        ``dose``) and its values are counts, else Gaussian: an
        integer detector image is digitised current, not necessarily counts, so
        pass ``"poisson"`` for an image of counts. ``metadata.Reconstruction``
        records the ``likelihood`` used and ``likelihood_reason``.
    %(mask)s
    %(seed)s
    %(uncertainty)s
    %(show_progressbar)s
    %(lazy_output)s
    %(lazy_options)s

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
    likelihood = check_likelihood(likelihood)
    lazy = wants_lazy(signal, lazy_output)
    observed, source = resolve_mask(signal, layout, mask)
    atoms = _dictionary_atoms(dictionary)
    engine_options = _engine_options(atoms, n_atoms=n_atoms, n_iter=n_iter,
                                     burn_in=burn_in, step=step, patch_stride=patch_stride,
                                     learn_dictionary=learn_dictionary, uncertainty=uncertainty)
    # Last of the checks: "auto" reads the image's central window.
    patch_size, patch_reason = resolve_patch_size(
        patch_size, atoms, observed, data=_scan.to_canonical(signal.data, layout))
    uncertainty = engine_options["uncertainty"]
    names = [signal.metadata.get_item("General.title", "") or "image"]
    if lazy:
        _, recorded_seed = as_rng(seed)
        graph = _lazy.reconstruct(
            _scan.to_canonical(signal.data, layout), observed,
            patch_size=patch_size,
            dictionary=atoms, tile_size=tile_size,
            learning_positions=learning_positions, title=_title(signal), seed=recorded_seed,
            show_progressbar=resolve_progressbar(show_progressbar),
            engine_options=engine_options, likelihood=likelihood, dose=recorded_dose(signal),
        )
        reconstruction, std = graph.maps, graph.std
        extra, parameters = graph.extra, graph.parameters
    else:
        data = scan_data(signal, layout).astype(np.float64)
        check_finite_samples(data[observed])
        unit, reason = image_count_unit(data[observed], likelihood, dose=recorded_dose(signal))
        result, extra, parameters = _run_engine(
            signal, data, observed[..., None], names=names, layer_weights=None,
            count_unit=[unit], likelihood_reason=reason, patch_size=patch_size, atoms=atoms,
            seed=seed,
            show_progressbar=show_progressbar, engine_options=engine_options,
        )
        reconstruction, std = result.reconstruction, result.std
    extra["patch_size_reason"] = patch_reason
    parameters["likelihood"] = likelihood
    if uncertainty:
        std = output_signal(signal, layout, std, method="BPFA posterior std",
                            parameters={}, mask_source=source, lazy_output=lazy)
        del std.metadata.Reconstruction
        extra["std"] = std
    return output_signal(signal, layout, reconstruction, method="BPFA",
                         parameters=parameters, mask_source=source, extra=extra,
                         lazy_output=lazy)


inpaint_bpfa.__doc__ += _LAZY_DOC  # after fill_doc: it has no placeholders


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


@fill_doc
def inpaint_bpfa3d(
    signal,
    guide=None,
    *,
    layers="auto",
    guide_weight="auto",
    patch_size="auto",
    patch_stride=1,
    n_atoms=None,
    n_iter=None,
    burn_in=None,
    step=1,
    dictionary=None,
    learn_dictionary=True,
    likelihood="auto",
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
        The spectral layers, see :func:`hyperspy_cs._layers.layer_spec`: PCA
        scores of the sampled spectra (``"pca"``, or that many components) or
        X-ray line intensities (``"lines"``, needs elements). ``"auto"``: PCA;
        for counts, the components that carry more signal than noise between two
        halves of the counts, or the line maps when those miss most of the signal
        or most of the line maps' own and the elements are known (``seed``
        seeds the split).
    guide_weight : float or "auto"
        How much the guide is trusted. ``"auto"`` (or None): every layer, the
        guide and each spectral layer, has its own noise precision, learned from
        its own residual, so that a nearly noise-free guide steers layers of a
        few counts per pixel as much as they need, and a guide that does not
        predict a layer cannot be fitted at its expense. A number ties the
        precisions instead: one shared by the spectral layers, times the number
        for the guide (above 1 trusts the guide more, below 1 less). With a
        guide, the atoms of each layer of counts have a prior that follows the
        share of the layer's variance that is not noise, so that the guide's
        structure does not go into lines that hold none
        (``metadata.Reconstruction.atom_prior_scale``; user guide).
    patch_size : int or "auto"
        Side ``b`` of the square ``b x b x N`` patches, in pixels. ``"auto"``
        (or None): the dictionary's; else 6 with a guide (the guide layer is
        fully sampled); without one, grown as the sampling fraction ``f`` drops,
        ``ceil(sqrt(12 / f))`` within 6-20 px (11 at 10 %, 16 at 5 %) and at most
        an eighth of the scan's shorter side; for layers of counts at least
        ``ceil(sqrt(150 / counts))``, ``counts`` the counts per visited position
        summed over the layers, so that a patch holds about 150 counts (at most
        20 px and a quarter of the scan's side; a lazy result keeps the sampling
        rule, its layers are known only in its learning pass).
        ``metadata.Reconstruction.patch_size_reason`` says how it was chosen.
    %(patch_stride)s
    %(n_atoms)s
    %(sweeps)s
        For layers of sparse counts (X-ray line maps of under 10 line counts
        per visited position) the default is 20 sweeps, 10 of them burn-in:
        their chain drifts to worse maps as the beta process switches atoms off
        (measured in the user guide); a lazy result keeps 40.
    %(step)s
    %(dictionary)s
    likelihood : {"auto", "gaussian", "poisson"}
        The noise model of the spectral layers. ``"poisson"``: X-ray line maps of
        count data are counts, sampled as their Anscombe values and brought back
        by its exact unbiased inverse, so that each map's noise level follows
        its counts and no map is negative (PCA scores are not counts: ``"poisson"``
        with PCA layers raises). ``"auto"`` (or None): Poisson for line maps of
        counts, Gaussian otherwise. The guide is always Gaussian.
        ``metadata.Reconstruction`` records the ``likelihood`` used and
        ``likelihood_reason``.
    %(mask)s
    %(seed)s
    %(uncertainty)s
        With ``uncertainty``, a lazy result needs ``layers`` to be an int or
        ``"lines"`` (the number of layers of the lazy ``std``).
    %(show_progressbar)s
    %(lazy_output)s
    %(lazy_options)s
        For a lazy result the spectral layers are fitted on every sampled
        spectrum of the map, in a streaming pass (the moments of the sampled
        spectra, summed tile by tile). The learning pass holds the sampled
        spectra of its windows and one window of full spectra at a time: about
        ``learning_positions * (fraction + 1 / n_windows) * E`` values.

    Returns
    -------
    hyperspy.signal.BaseSignal
        The spectrum image (same class, shape and calibration; float32 data)
        with full spectra rebuilt from the reconstructed layers at every position.
        ``metadata.Reconstruction`` holds what :func:`inpaint_bpfa` records
        (``noise_std`` and ``trace.gamma_e`` per layer; for layers of counts
        ``noise_floor`` and ``atom_prior_scale`` per layer), plus ``layer_kind``
        (``"pca"`` or ``"lines"``) and ``layers_reason`` (how they were chosen;
        for a lazy result with ``layers="auto"``, recorded by
        :func:`get_dictionary`), ``layers`` (a Signal2D stack of the
        reconstructed layer maps, the guide first if any; eager results only, a
        lazy result would have to run its tiles again to save it) and, with
        ``uncertainty``, ``std`` (their posterior standard deviation).
    """
    layout = _scan.scan_layout(signal)
    if layout.kind != "spectrum_image":
        raise _scan.ScanAxesError(
            "signal: inpaint_bpfa3d works on spectrum images (1 signal axis, 2 navigation "
            "axes); for an image use inpaint_bpfa"
        )
    dtype = check_real_dtype(signal.data.dtype)
    likelihood = check_likelihood(likelihood)
    if guide_weight is None or isinstance(guide_weight, str):
        if guide_weight not in (None, "auto"):
            raise ValueError(f'guide_weight: expected "auto" or a positive number, '
                             f"got {guide_weight!r}")
        guide_weight = "auto"
    else:
        guide_weight = check_positive_number(guide_weight, name="guide_weight")
    lazy = wants_lazy(signal, lazy_output)
    observed, source = resolve_mask(signal, layout, mask)
    atoms = _dictionary_atoms(dictionary)
    guide_data = None if guide is None else check_guide(guide, layout)
    patch_options = {"atoms": atoms, "observed": observed, "guided": guide_data is not None}
    # A given size is checked before any data are read; "auto" is resolved again
    # once the layers are known to be counts.
    auto_size = patch_size is None or isinstance(patch_size, str)
    patch_size, patch_reason = resolve_patch_size(patch_size, **patch_options)
    _, recorded_seed = as_rng(seed)
    engine_options = _engine_options(atoms, n_atoms=n_atoms, n_iter=n_iter,
                                     burn_in=burn_in, step=step, patch_stride=patch_stride,
                                     learn_dictionary=learn_dictionary, uncertainty=uncertainty)
    uncertainty = engine_options["uncertainty"]
    n_full = 0 if guide_data is None else 1
    guide_names, guide_weights = [], []
    if guide_data is not None:
        guide_names = [(guide.metadata.get_item("General.title", "")
                        if hasattr(guide, "metadata") else "") or "guide"]
        guide_weights = [] if guide_weight == "auto" else [guide_weight]

    spec = layer_spec(signal, layers)
    if lazy:
        if uncertainty and spec.names is None:
            raise ValueError(
                f"layers: a lazy result with uncertainty needs the number of layers before the "
                f"data are read; pass layers=<int> or \"lines\", not {layers!r}"
            )
        graph = _lazy.reconstruct(
            _scan.to_canonical(signal.data, layout), observed,
            patch_size=patch_size,
            dictionary=atoms, tile_size=tile_size,
            learning_positions=learning_positions, title=_title(signal), seed=recorded_seed,
            show_progressbar=resolve_progressbar(show_progressbar),
            engine_options=engine_options, likelihood=likelihood, spec=spec, dtype=dtype,
            guide=guide_data,
            guide_names=guide_names, guide_weights=guide_weights,
        )
        spectra_out, layer_std = graph.spectra, graph.std
        extra, parameters = graph.extra, graph.parameters
        if spec.names is not None:
            names = guide_names + spec.names
            extra["layer_names"] = names
        layer_maps = None
    else:
        data = scan_data(signal, layout)
        check_finite_samples(data[observed])
        check_counts(data[observed], dtype)
        layer_set = spectral_layers(signal, data, observed, layers=layers, seed=recorded_seed)
        maps, layer_observed, weights = with_guide(layer_set.maps_of(data, observed), observed,
                                                   guide_data, guide_weights)
        names = guide_names + list(layer_set.names)
        units, reason = layer_count_units(layer_set, maps, layer_observed, likelihood,
                                          n_full=n_full)
        # The patch holds enough counts whatever the likelihood they are sampled with.
        count_units = units if likelihood != "gaussian" else layer_count_units(
            layer_set, maps, layer_observed, "auto", n_full=n_full)[0]
        if count_units.any():
            counts = _counts_per_position(maps, layer_observed, count_units)
            if auto_size:
                patch_size, patch_reason = resolve_patch_size("auto", counts=counts,
                                                              **patch_options)
            engine_options.update(zip(("n_iter", "burn_in"),
                                      resolve_sweeps(n_iter, burn_in, counts=counts)))
        result, extra, parameters = _run_engine(
            signal, maps, layer_observed, names=names, layer_weights=weights,
            count_unit=units, likelihood_reason=reason, patch_size=patch_size, atoms=atoms,
            seed=recorded_seed,
            show_progressbar=show_progressbar, engine_options=engine_options,
            n_channels=layout.n_channels,
        )
        spectra_out = layer_set.rebuild(result.reconstruction[..., n_full:])
        layer_maps, layer_std = result.reconstruction, result.std

    parameters.update(layers=str(layers), guide_weight=guide_weight, likelihood=likelihood,
                      guide="None" if guide_data is None else guide_names[0])
    if layer_maps is not None:
        extra["layers"] = _layer_stack(signal, layout, layer_maps, "BPFA layer maps", names)
    if layer_maps is not None:
        extra.update(layer_kind=layer_set.kind, layers_reason=layer_set.reason)
    elif spec.n_components != "auto":  # a lazy result: "auto" is decided by its learning pass
        extra["layer_kind"] = spec.kind
    extra["patch_size_reason"] = patch_reason
    if uncertainty:
        extra["std"] = _layer_stack(signal, layout, layer_std,
                                    "BPFA layer maps, posterior std", names)
    return output_signal(signal, layout, spectra_out, method="BPFA3D", parameters=parameters,
                         mask_source=source, extra=extra, lazy_output=lazy)


inpaint_bpfa3d.__doc__ += _LAZY_DOC


def _counts_per_position(maps, observed, units):
    """Counts per visited position of the count layers (``units`` > 0), summed."""
    observed = np.broadcast_to(observed, maps.shape)
    return sum(float(maps[..., layer][observed[..., layer]].mean()) / units[layer]
               for layer in np.flatnonzero(units))


def get_dictionary(signal):
    """The BPFA dictionary stored with a reconstruction.

    For a lazy result, this also records what its learning pass found in
    ``metadata.Reconstruction`` (``dictionary``, ``noise_std``, ``atoms_used``,
    ``trace``, ``runtime``, ``layer_names``). The learning pass of a result
    computed in this process (threaded scheduler) is at hand; otherwise, while
    the result is still lazy, its streaming and learning passes run here (not
    the tiles) and the result's graph keeps what they found, so that a later
    ``compute()`` or ``save()`` does not run them again.

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
    if dictionary is None and signal.metadata.has_item("Reconstruction.tiling.learning_pass"):
        dictionary = _record_learning_pass(signal)
    if dictionary is None:
        raise ValueError("signal: no metadata.Reconstruction.dictionary; it is not a BPFA result")
    if not isinstance(dictionary, BPFADictionary):
        # .hspy files bring nested signals back as the class of their signal type
        # only when the registration is known; rebuild it otherwise.
        dictionary = BPFADictionary(dictionary.data, axes=_scan.axis_dicts(dictionary),
                                    metadata=dictionary.metadata.as_dictionary())
    return dictionary


def _record_learning_pass(signal):
    """Record the learning pass of a lazy result in its metadata; returns the dictionary."""
    node = signal.metadata.Reconstruction
    learned = _lazy.learning_pass_of(signal, node.tiling.learning_pass,
                                     bind_also=node.get_item("std"))
    record = _record(learned.result, names=learned.names, title=learned.title,
                     runtime=learned.runtime)
    record.update(likelihood=used(learned.likelihood_reason),
                  likelihood_reason=learned.likelihood_reason)
    if learned.layer_set is not None:
        record.update(layer_kind=learned.layer_set.kind, layers_reason=learned.layer_set.reason)
    for name, value in record.items():
        node.set_item(name, value)
    return record["dictionary"]
