"""Where the scan grid lives in a HyperSpy signal, and the canonical array layout.

Every operation of the package works on one layout, ``(F, R, C, N)``: ``F`` frames
(the flattened extra navigation axes of an image stack or of a multi-frame spectrum
image), an ``R x C`` scan grid in numpy ``(row, col)`` order, and ``N`` channels
(1 for an image, the spectral channels of a spectrum image). HyperSpy orders axes
``(x, y, ...)`` while the data array is ``(..., y, x)``: ``row`` is HyperSpy's ``y``
and ``col`` its ``x``.
"""

from dataclasses import dataclass

import numpy as np
from hyperspy.exceptions import DataDimensionError


class ScanAxesError(DataDimensionError, ValueError):
    """The signal has no scan grid this package can work on."""

    def __str__(self):
        return self.msg


@dataclass(frozen=True)
class ScanLayout:
    """How a signal's data array maps onto ``(F, R, C, N)``.

    Attributes
    ----------
    kind : {"image", "spectrum_image"}
        ``"image"``: the scan axes are the two signal axes (Signal2D, possibly a
        stack of frames). ``"spectrum_image"``: the scan axes are the first two
        navigation axes (x, y) and the signal is 1-D.
    frame_shape : tuple of int
        Numpy shape of the frame axes (empty for a single image or spectrum image).
    scan_shape : tuple of int
        ``(R, C)``, rows and columns of the scan grid.
    channel_shape : tuple of int
        ``()`` for images, ``(E,)`` for spectrum images.
    """

    kind: str
    frame_shape: tuple
    scan_shape: tuple
    channel_shape: tuple

    @property
    def n_frames(self):
        return int(np.prod(self.frame_shape, dtype=int))

    @property
    def n_channels(self):
        return int(np.prod(self.channel_shape, dtype=int))

    @property
    def canonical_shape(self):
        return (self.n_frames, *self.scan_shape, self.n_channels)

    @property
    def mask_shape(self):
        """Numpy shape of the ``sampled`` mask: frames then ``(R, C)``."""
        return (*self.frame_shape, *self.scan_shape)


def scan_layout(signal):
    """Find the scan axes of ``signal``.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal

    Returns
    -------
    ScanLayout

    Raises
    ------
    TypeError
        If ``signal`` is not a HyperSpy signal.
    ScanAxesError
        If the signal is neither an image (2 signal axes) nor a spectrum image
        (1 signal axis and at least 2 navigation axes).
    """
    from hyperspy.signal import BaseSignal

    if not isinstance(signal, BaseSignal):
        raise TypeError(
            f"signal: expected a HyperSpy signal, got {type(signal).__name__}"
        )
    am = signal.axes_manager
    shape = tuple(signal.data.shape)
    # HyperSpy leaves size-1 axes out of ``signal_dimension`` (a 1-channel spectrum
    # image has "0" signal dimensions): count the axes themselves.
    sig_dim, nav_dim = len(am.signal_axes), len(am.navigation_axes)
    if sig_dim == 2:
        return ScanLayout("image", shape[:-2], shape[-2:], ())
    if sig_dim == 1 and nav_dim >= 2:
        return ScanLayout("spectrum_image", shape[:-3], shape[-3:-1], shape[-1:])
    raise ScanAxesError(
        "signal: no scan axes. Expected an image (Signal2D, scan axes = signal axes) "
        "or a spectrum image (1 signal axis and 2 navigation axes x, y); got "
        f"{nav_dim} navigation and {sig_dim} signal dimension(s) "
        f"(axes: {am.navigation_shape} | {am.signal_shape}). "
        "For a transposed image use signal.T or signal.as_signal2D((0, 1))."
    )


def to_canonical(data, layout):
    """View ``data`` (numpy or dask, HyperSpy order) as ``(F, R, C, N)``."""
    return data.reshape(layout.canonical_shape)


def from_canonical(array, layout):
    """Inverse of :func:`to_canonical`."""
    return array.reshape((*layout.frame_shape, *layout.scan_shape, *layout.channel_shape))


def mask_to_canonical(mask, layout):
    """A ``sampled`` mask of shape ``(R, C)`` or ``layout.mask_shape`` as ``(F, R, C)``."""
    mask = np.asarray(mask)
    if mask.shape == tuple(layout.scan_shape):
        mask = np.broadcast_to(mask, layout.mask_shape)
    return mask.reshape((layout.n_frames, *layout.scan_shape))


def axis_dicts(signal):
    """Axis dictionaries of ``signal`` in data-array order (for building new signals)."""
    return [ax.get_axis_dictionary() for ax in signal.axes_manager._axes]


def scan_axes(signal, layout=None):
    """The two HyperSpy axes of the scan grid, ``(x_axis, y_axis)``."""
    layout = layout or scan_layout(signal)
    am = signal.axes_manager
    axes = am.signal_axes if layout.kind == "image" else am.navigation_axes
    return axes[0], axes[1]


def layout_or_none(signal):
    """The signal's :class:`ScanLayout`, or None when it has no scan axes."""
    try:
        return scan_layout(signal)
    except ScanAxesError:
        return None
