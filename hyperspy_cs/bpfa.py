"""BPFA inpainting and denoising of images and spectrum images (HyperSpy layer).

Both functions run the same engine (:mod:`hyperspy_cs._bpfa`): an image is the
``N = 1`` case of ``b x b x N`` patches; a spectrum image is reconstructed through
``N`` layers, an optional fully sampled guide image (BSE/HAADF) plus spectral
layers (:mod:`hyperspy_cs.layers`), and its full spectra are rebuilt from the
reconstructed layers.
"""

import time

import numpy as np

from . import _scan
from ._bpfa import bpfa
from ._reconstruct import output_signal, resolve_mask, scan_data
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


def _run_engine(signal, data, observed, *, names, layer_weights, patch_size, dictionary, seed,
                show_progressbar, engine_options):
    """Run the sampler and collect what every BPFA result records."""
    atoms = _dictionary_atoms(dictionary, data.shape[-1])
    if atoms is not None and patch_size is None:
        patch_size = atoms.shape[1]
    elif atoms is not None and patch_size != atoms.shape[1]:
        raise ValueError(
            f"patch_size: the dictionary's atoms are {atoms.shape[1]} x {atoms.shape[1]}, "
            f"got patch_size={patch_size}"
        )
    patch_size = check_positive_int(patch_size, name="patch_size", minimum=2)
    if patch_size > min(data.shape[1:3]):
        raise ValueError(
            f"patch_size: {patch_size} px patches do not fit in the {data.shape[1]} x "
            f"{data.shape[2]} scan; use a smaller patch_size"
        )
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
        Gibbs sweeps in all and sweeps discarded before averaging.
    step : int
        Stride between patches (1 = every overlapping patch; 2 or more is faster).
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
        None: lazy output for lazy input.

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
    observed, source = resolve_mask(signal, layout, mask)
    data = scan_data(signal, layout).astype(np.float64)
    if not np.isfinite(data[observed]).all():
        raise ValueError("signal: NaN or inf at sampled positions")
    result, extra, parameters = _run_engine(
        signal, data, observed[..., None],
        names=[signal.metadata.get_item("General.title", "") or "image"],
        layer_weights=None, patch_size=patch_size,
        dictionary=dictionary, seed=seed, show_progressbar=show_progressbar,
        engine_options={"n_atoms": n_atoms, "n_iter": n_iter, "burn_in": burn_in, "step": step,
                        "learn_dictionary": learn_dictionary, "uncertainty": uncertainty},
    )
    if uncertainty:
        std = output_signal(signal, layout, result.std, method="BPFA posterior std",
                            parameters={}, mask_source=source, lazy_output=False)
        del std.metadata.Reconstruction
        extra["std"] = std
    return output_signal(signal, layout, result.reconstruction, method="BPFA",
                         parameters=parameters, mask_source=source, extra=extra,
                         lazy_output=lazy_output)


def _check_counts(data, dtype):
    """Integer counts at the top of their dtype have wrapped or saturated on acquisition."""
    if dtype.kind in "iu" and dtype.itemsize <= 2 and data.size and data.max() >= np.iinfo(dtype).max:
        raise ValueError(
            f"signal: counts reach the largest {dtype} value ({np.iinfo(dtype).max}); they have "
            "overflowed or saturated. Re-export the data with a wider integer type, or "
            "mask the affected positions out"
        )


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
    patch_size, n_atoms, n_iter, burn_in, step, dictionary, learn_dictionary, mask, seed, uncertainty, show_progressbar, lazy_output
        As in :func:`inpaint_bpfa`.

    Returns
    -------
    hyperspy.signal.BaseSignal
        The spectrum image (same class, shape and calibration; float32 data)
        with full spectra rebuilt from the reconstructed layers at every position.
        ``metadata.Reconstruction`` holds what :func:`inpaint_bpfa` records, plus
        ``layers`` (a Signal2D stack of the reconstructed layer maps, the guide
        first if any) and, with ``uncertainty``, ``std`` (their posterior
        standard deviation).
    """
    from hyperspy.signals import Signal2D

    layout = _scan.scan_layout(signal)
    if layout.kind != "spectrum_image":
        raise _scan.ScanAxesError(
            "signal: inpaint_bpfa3d works on spectrum images (1 signal axis, 2 navigation "
            "axes); for an image use inpaint_bpfa"
        )
    dtype = check_real_dtype(signal.data.dtype)
    guide_weight = check_positive_number(guide_weight, name="guide_weight")
    observed, source = resolve_mask(signal, layout, mask)
    guide_data = None if guide is None else check_guide(guide, layout)
    data = scan_data(signal, layout)
    if not np.isfinite(data[observed]).all():
        raise ValueError("signal: NaN or inf at sampled positions")
    _check_counts(data[observed], dtype)
    _, recorded_seed = as_rng(seed)
    layer_set = spectral_layers(signal, data, observed, layers=layers, seed=recorded_seed)

    maps, names = layer_set.maps, list(layer_set.names)
    layer_observed = np.repeat(observed[..., None], maps.shape[-1], axis=-1)
    weights = np.ones(maps.shape[-1])
    if guide_data is not None:
        guide_name = (guide.metadata.get_item("General.title", "") if hasattr(guide, "metadata")
                      else "") or "guide"
        maps = np.concatenate([guide_data, maps], axis=-1)
        layer_observed = np.concatenate([np.ones_like(observed)[..., None], layer_observed], -1)
        weights = np.concatenate([[guide_weight], weights])
        names = [guide_name, *names]

    result, extra, parameters = _run_engine(
        signal, maps, layer_observed,
        names=names, layer_weights=weights, patch_size=patch_size, dictionary=dictionary, seed=recorded_seed,
        show_progressbar=show_progressbar,
        engine_options={"n_atoms": n_atoms, "n_iter": n_iter, "burn_in": burn_in, "step": step,
                        "learn_dictionary": learn_dictionary, "uncertainty": uncertainty},
    )
    parameters.update(layers=str(layers), guide_weight=guide_weight,
                      guide="None" if guide_data is None else names[0])
    spectral = result.reconstruction[..., 1:] if guide_data is not None else result.reconstruction
    spectra = layer_set.rebuild(spectral)

    x_axis, y_axis = _scan.scan_axes(signal, layout)

    def layer_stack(array, title):
        stack = Signal2D(
            np.moveaxis(array.reshape(*layout.frame_shape, *layout.scan_shape, -1), -1, 0),
            axes=[{"name": "layer", "size": array.shape[-1], "navigate": True}]
            + [{"name": a.name, "size": a.size, "navigate": True, "units": a.units} for a in
               reversed(signal.axes_manager.navigation_axes[2:])]
            + [y_axis.get_axis_dictionary() | {"navigate": False},
               x_axis.get_axis_dictionary() | {"navigate": False}],
        )
        stack.metadata.General.title = title
        stack.metadata.set_item("Reconstruction.layer_names", names)
        return stack

    extra["layers"] = layer_stack(result.reconstruction, "BPFA layer maps")
    extra["layer_kind"] = layer_set.kind
    if uncertainty:
        extra["std"] = layer_stack(result.std, "BPFA layer maps, posterior std")
    return output_signal(signal, layout, spectra, method="BPFA3D", parameters=parameters,
                         mask_source=source, extra=extra, lazy_output=lazy_output)


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
