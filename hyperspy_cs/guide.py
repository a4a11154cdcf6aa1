"""The fully sampled guide image (BSE, HAADF) that steers a spectrum image's reconstruction."""

import numpy as np

from . import _scan

__all__ = ["check_guide", "resample_guide", "with_guide"]


def _field_of_view(axes):
    return np.array([ax.scale * ax.size for ax in axes])


def resample_guide(guide, signal, *, rtol=0.02):
    """Resample ``guide`` onto the scan grid of ``signal`` (same field of view).

    Use it when the guide was recorded at another resolution than the spectrum
    image (e.g. an overview BSE image of 1100 x 825 pixels for a 50 x 50 map).

    Parameters
    ----------
    guide : hyperspy.signals.Signal2D
        A single image covering the same field of view as the scan.
    signal : hyperspy.signal.BaseSignal
        The spectrum image (or image) whose scan grid the guide is resampled to.
    rtol : float
        Relative tolerance on the two fields of view (``scale * size`` per axis)
        when both are calibrated in the same units.

    Returns
    -------
    hyperspy.signals.Signal2D
        The guide on the scan grid, with the scan axes' calibration.

    Raises
    ------
    ValueError
        If the fields of view differ: the images would be misaligned.
    """
    from hyperspy.signals import Signal2D
    from skimage.transform import resize

    layout = _scan.scan_layout(signal)
    if not isinstance(guide, Signal2D) or guide.axes_manager.navigation_dimension:
        raise TypeError("guide: expected a single Signal2D image")
    x_axis, y_axis = _scan.scan_axes(signal, layout)
    g_axes = guide.axes_manager.signal_axes
    if any(str(a.units) != str(b.units) for a, b in zip(g_axes, (x_axis, y_axis))):
        raise ValueError(
            f"guide: its axes are in {g_axes[0].units!s} but the scan's in {x_axis.units!s}; "
            "convert them first (guide.axes_manager.convert_units(units=...)) so that the "
            "fields of view can be checked"
        )
    fov_guide, fov_scan = _field_of_view(g_axes), _field_of_view((x_axis, y_axis))
    if not np.allclose(fov_guide, fov_scan, rtol=rtol):
        raise ValueError(
            f"guide: its field of view {fov_guide} {g_axes[0].units} differs from the scan's "
            f"{fov_scan} {x_axis.units}; crop the guide to the scanned area first "
            "(guide.isig[x0:x1, y0:y1]) so that the two stay aligned"
        )
    data = guide.data.compute() if guide._lazy else guide.data
    resampled = resize(np.asarray(data, dtype=float), layout.scan_shape, anti_aliasing=True,
                       preserve_range=True)
    out = Signal2D(
        resampled,
        axes=[y_axis.get_axis_dictionary() | {"navigate": False},
              x_axis.get_axis_dictionary() | {"navigate": False}],
        metadata=guide.metadata.as_dictionary(),
        original_metadata=guide.original_metadata.as_dictionary(),
    )
    out.metadata.General.title = f"{guide.metadata.General.title} (resampled to the scan grid)"
    return out


def check_guide(guide, layout):
    """The guide as a float ``(F, R, C, 1)`` array, after checking it fits the scan.

    Parameters
    ----------
    guide : hyperspy.signals.Signal2D or numpy.ndarray
        Shape ``(R, C)`` in numpy order, or one guide per frame.
    layout : hyperspy_cs._scan.ScanLayout
        Layout of the spectrum image.
    """
    from hyperspy.signal import BaseSignal

    if isinstance(guide, BaseSignal):
        if guide.axes_manager.signal_dimension != 2:
            raise TypeError(
                "guide: expected a Signal2D image (BSE/HAADF); for a spectrum of the same "
                "scan use guide.T or sum its signal axis first"
            )
        data = guide.data.compute() if guide._lazy else guide.data
    else:
        data = guide
    data = np.asarray(data)
    if data.dtype.kind == "c" or data.dtype.kind not in "biuf":
        raise TypeError(f"guide: expected real numeric data, got dtype {data.dtype}")
    if data.shape not in (tuple(layout.scan_shape), layout.mask_shape):
        raise ValueError(
            f"guide: shape {data.shape} (rows, cols) differs from the scan grid "
            f"{tuple(layout.scan_shape)}; resample it with "
            "hyperspy_cs.resample_guide(guide, signal) (same field of view) or "
            "guide.rebin(scale=...) when the sizes are integer multiples"
        )
    if not np.isfinite(data).all():
        raise ValueError("guide: contains NaN or inf; a guide must be fully and validly sampled")
    data = np.broadcast_to(data, layout.mask_shape).reshape(layout.n_frames, *layout.scan_shape)
    return data.astype(np.float64)[..., np.newaxis]


def with_guide(maps, observed, guide, guide_weights):
    """Layer maps with the fully observed guide (if any) in front, for the engine.

    Parameters
    ----------
    maps : numpy.ndarray, shape (..., L)
        Spectral layer values.
    observed : numpy.ndarray of bool, shape (...)
        Where they were measured.
    guide : numpy.ndarray, shape (..., 1), or None
    guide_weights : sequence of float
        The guide's likelihood weight (empty without a guide).

    Returns
    -------
    maps, layer_observed, layer_weights : numpy.ndarray
        Shapes ``(..., N)``, ``(..., N)`` and ``(N,)`` with ``N = L`` plus the guide.
    """
    layer_observed = np.repeat(observed[..., None], maps.shape[-1], axis=-1)
    weights = np.concatenate([guide_weights, np.ones(maps.shape[-1])])
    if guide is None:
        return maps, layer_observed, weights
    return (np.concatenate([guide, maps], axis=-1),
            np.concatenate([np.ones_like(layer_observed[..., :1]), layer_observed], axis=-1),
            weights)
