"""The fully sampled guide image (BSE, HAADF) that steers a spectrum image's reconstruction."""

import numpy as np

from . import _scan

__all__ = ["check_guide", "resample_guide", "with_guide"]


def _field_of_view(axes, name):
    """Width of the imaged area along each axis: pixel pitch times size.

    A non-uniform axis (a ``DataAxis`` or ``FunctionalDataAxis``, with no
    ``scale``) has its mean pitch, ``(axis[-1] - axis[0]) / (size - 1)``.
    """
    widths = []
    for ax in axes:
        if ax.is_uniform:
            widths.append(ax.scale * ax.size)
        elif ax.size > 1:
            widths.append((ax.axis[-1] - ax.axis[0]) * ax.size / (ax.size - 1))
        else:
            raise ValueError(f"{name}: its axis {ax.name!r} is one non-uniform point, which has no "
                             "field of view")
    return np.array(widths)


def _uniform_positions(axis):
    """Where the pixels of a non-uniform ``axis`` lie on the uniform grid of its size and field of view."""
    values = np.asarray(axis.axis, dtype=float)
    return (values - values[0]) / (values[-1] - values[0]) * (axis.size - 1)


def _interpolate_along(data, dim, x_from, x_to):
    return np.apply_along_axis(lambda v: np.interp(x_to, x_from, v), dim, data)


def on_scan_grid(data, guide, x_axis, y_axis):
    """``data`` (numpy or dask, ``(rows, cols)``) as an image with ``guide``'s metadata and the scan axes.

    The axes are built from the scan's dictionaries (rather than the scan's
    calibration set on the guide's axes) so that a non-uniform scan axis stays one.
    """
    from hyperspy.io import dict2signal

    return dict2signal({
        "data": data,
        "axes": [ax.get_axis_dictionary() | {"navigate": False} for ax in (y_axis, x_axis)],
        "metadata": guide.metadata.as_dictionary(),
        "original_metadata": guide.original_metadata.as_dictionary(),
    }, lazy=not isinstance(data, np.ndarray))  # a dask array; dask stays unimported here


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
        Relative tolerance on the two fields of view (``scale * size`` per axis,
        the mean pixel pitch times size for a non-uniform axis) when both are
        calibrated in the same units.

    Returns
    -------
    hyperspy.signals.Signal2D
        The guide on the scan grid, with the scan's axes (non-uniform ones
        included: the guide is then read at the scan's positions).

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
    fov_guide, fov_scan = _field_of_view(g_axes, "guide"), _field_of_view((x_axis, y_axis), "signal")
    if not np.allclose(fov_guide, fov_scan, rtol=rtol):
        raise ValueError(
            f"guide: its field of view {fov_guide} {g_axes[0].units} differs from the scan's "
            f"{fov_scan} {x_axis.units}; crop the guide to the scanned area first "
            "(guide.isig[x0:x1, y0:y1]) so that the two stay aligned"
        )
    data = np.asarray(guide.data.compute() if guide._lazy else guide.data, dtype=float)
    # resize assumes equally spaced pixels on both grids: a guide with a
    # non-uniform axis is first put on the uniform grid of its field of view,
    # and the result is read at the positions of a non-uniform scan axis, so
    # that each scan pixel gets the guide at its own place.
    for dim, ax in ((1, g_axes[0]), (0, g_axes[1])):
        if not ax.is_uniform:
            data = _interpolate_along(data, dim, _uniform_positions(ax), np.arange(ax.size))
    resampled = resize(data, layout.scan_shape, anti_aliasing=True, preserve_range=True)
    for dim, ax in ((1, x_axis), (0, y_axis)):
        if not ax.is_uniform:
            resampled = _interpolate_along(resampled, dim, np.arange(ax.size), _uniform_positions(ax))
    out = on_scan_grid(resampled, guide, x_axis, y_axis)
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
        The guide's likelihood weight relative to the other layers, which then share
        one noise precision; empty (always without a guide) for a noise precision
        learned per layer.

    Returns
    -------
    maps, layer_observed : numpy.ndarray
        Shapes ``(..., N)`` and ``(..., N)`` with ``N = L`` plus the guide.
    layer_weights : numpy.ndarray, shape (N,), or None
        The engine's ``layer_weights``: None for learned per-layer precisions.
    """
    layer_observed = np.repeat(observed[..., None], maps.shape[-1], axis=-1)
    weights = (np.concatenate([guide_weights, np.ones(maps.shape[-1])])
               if len(guide_weights) else None)
    if guide is None:
        return maps, layer_observed, weights
    return (np.concatenate([guide, maps], axis=-1),
            np.concatenate([np.ones_like(layer_observed[..., :1]), layer_observed], axis=-1),
            weights)
