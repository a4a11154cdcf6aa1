"""One entry point for every reconstruction method: ``s.inpaint(method=...)``.

Each classical method is an array function ``f(data, observed, **options)`` on the
canonical ``(F, R, C, N)`` layout (private modules ``_interpolate``, ``_ksvd``,
``_fourier``, ``_nonlocal``, ``_pnp``); this module gives them the same mask rules
and output contract as BPFA. A spectrum image is reconstructed through its
spectral layers (:mod:`hyperspy_cs._layers`) and rebuilt to full spectra.
"""

import importlib
import inspect
import time

import numpy as np

from . import _scan
from ._reconstruct import (
    check_finite_samples,
    output_signal,
    resolve_mask,
    scan_data,
)
from ._validate import as_rng, check_choice, check_real_dtype, wants_lazy
from ._layers import spectral_layers
from .classical import ARRAY_METHODS as _ARRAY_METHODS
from .classical import METHODS

__all__ = ["inpaint", "METHODS"]


def _array_function(method):
    module, name, fixed = _ARRAY_METHODS[method]
    function = getattr(importlib.import_module(f"hyperspy_cs.classical.{module}"), name)
    return function, fixed


def check_options(method, options, *, image):
    """Raise a TypeError naming the ``options`` that ``method`` does not take.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    options : collection of str
        Option names meant for ``method``.
    image : bool
        Whether the data are images (BPFA takes other options for spectrum images).
    """
    if method == "bpfa":
        from .bpfa import inpaint_bpfa, inpaint_bpfa3d

        function, fixed = (inpaint_bpfa if image else inpaint_bpfa3d), ("signal",)
    else:
        function, fixed = _array_function(method)
        fixed = ("data", "observed", *fixed)
    # The fixed arguments (the data, the mask, an interpolation's kind) are not options.
    accepted = [p for p in inspect.signature(function).parameters if p not in fixed]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"{', '.join(unknown)}: unknown option(s) {unknown} for method {method!r}; "
            f"it takes {accepted}"
        )


def inpaint(signal, method="cubic", *, mask=None, layers="auto", seed=None, lazy_output=None,
            **options):
    """Reconstruct a sub-sampled image or spectrum image with ``method``.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        An image (Signal2D, or a stack of frames) or a spectrum image.
    method : str
        ``"nearest"``, ``"linear"``, ``"cubic"``, ``"biharmonic"``
        (interpolation), ``"ksvd"`` (K-SVD dictionary with OMP sparse coding),
        ``"fourier_lowpass"``, ``"fourier_global"`` (periodic crystals),
        ``"nonlocal"`` (interpolation refined by non-local patch averaging),
        ``"pnp"`` (plug-and-play with a denoiser) or ``"bpfa"``
        (:func:`hyperspy_cs.inpaint_bpfa` / :func:`hyperspy_cs.inpaint_bpfa3d`).
    mask : numpy.ndarray of bool, optional
        Visited positions ``(rows, cols)``; default from
        ``metadata.Acquisition.Subsampling``, else every position (denoising).
    layers : {"auto", "pca", "lines"} or int
        Spectral layers of a spectrum image (ignored for images).
    seed : None, int or numpy.random.Generator
        Seed of methods with random choices.
    lazy_output : bool, optional
        None: lazy output for lazy input.
    **options
        Passed to the method (see its module in ``hyperspy_cs``).

    Returns
    -------
    hyperspy.signal.BaseSignal
        Same class, shape and calibration; ``metadata.Reconstruction`` records
        the method, its options, ``runtime`` (s) and ``mask_source``.
    """
    layout = _scan.scan_layout(signal)
    check_choice(method, list(METHODS), name="method")
    wants_lazy(signal, lazy_output)  # checked before any work
    check_options(method, options, image=layout.kind == "image")
    if method == "bpfa":
        from .bpfa import inpaint_bpfa, inpaint_bpfa3d

        if layout.kind == "image":
            return inpaint_bpfa(signal, mask=mask, seed=seed, lazy_output=lazy_output, **options)
        return inpaint_bpfa3d(signal, mask=mask, layers=layers, seed=seed,
                              lazy_output=lazy_output, **options)
    function, fixed = _array_function(method)
    accepted = inspect.signature(function).parameters

    check_real_dtype(signal.data.dtype)
    observed, source = resolve_mask(signal, layout, mask)
    data = scan_data(signal, layout).astype(np.float64)
    check_finite_samples(data[observed])
    _, recorded_seed = as_rng(seed)
    kwargs = {**fixed, **options}
    if "seed" in accepted:
        kwargs["seed"] = recorded_seed

    start = time.perf_counter()
    if layout.kind == "image":
        result = function(data, observed, **kwargs)
        extra = {}
    else:
        layer_set = spectral_layers(signal, data, observed, layers=layers, seed=recorded_seed)
        maps = function(layer_set.maps_of(data, observed), observed, **kwargs)
        result = layer_set.rebuild(maps)
        extra = {"layer_names": layer_set.names, "layer_kind": layer_set.kind,
                 "layers_reason": layer_set.reason}
    extra.update(runtime=time.perf_counter() - start, seed=recorded_seed)
    parameters = {**options, "layers": str(layers)} if layout.kind != "image" else dict(options)
    return output_signal(signal, layout, result, method=method, parameters=parameters,
                         mask_source=source, extra=extra, lazy_output=lazy_output)
