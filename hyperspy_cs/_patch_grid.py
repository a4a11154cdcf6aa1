"""The grid of patches: where the patches of a block start, and which cover a pixel.

Shared by the patch methods (BPFA, K-SVD). At stride ``s`` the patches start at the global rows (columns) that are
multiples of ``s``, and at the scan's last ``b``-wide window, so that the far
edge is covered whatever the size. The grid is global: a tile of a lazy map
(``origin``, ``extent``) holds exactly the patches of the full scan that lie
inside it, so that it reproduces their codes (with a halo of ``b - 1`` pixels,
every patch covering its core). At stride 1 it is every overlapping patch.
"""

import numpy as np

__all__ = ["box_sums", "cover", "grid_axis"]


def grid_axis(length, b, stride, origin=0, extent=None):
    """Start of every patch along one axis of a block, in the block's coordinates.

    Parameters
    ----------
    length : int
        Pixels of the block along the axis (``>= b``).
    b, stride : int
        Patch side and stride, pixels.
    origin : int
        Global coordinate of the block's first pixel.
    extent : int, optional
        Pixels of the whole scan along the axis; default ``origin + length`` (the
        block reaches the scan's far edge).

    Returns
    -------
    numpy.ndarray, int64, shape (n,)
        Increasing offsets in ``[0, length - b]``.
    """
    extent = origin + length if extent is None else extent
    first = -(-origin // stride) * stride
    starts = np.arange(first, origin + length - b + 1, stride, dtype=np.int64)
    last = extent - b
    if origin <= last <= origin + length - b and (starts.size == 0 or starts[-1] != last):
        starts = np.append(starts, np.int64(last))
    return starts - origin


def cover(starts, b, length):
    """First and last patch (index into ``starts``) covering each pixel.

    Parameters
    ----------
    starts : numpy.ndarray, int64, shape (n,)
        Patch starts along the axis (:func:`grid_axis`).
    b, length : int
        Patch side and pixels along the axis.

    Returns
    -------
    numpy.ndarray, int64, shape (length, 2)
        ``[lo, hi]`` per pixel; ``lo > hi`` where no patch covers it.
    """
    pixels = np.arange(length)
    lo = np.searchsorted(starts, pixels - b + 1, side="left")
    hi = np.searchsorted(starts, pixels, side="right") - 1
    return np.stack([lo, hi], axis=1).astype(np.int64)


def box_sums(image, b, rows_at, cols_at):
    """Sum of ``image`` over every ``b x b`` patch of the grid, from its integral image.

    Parameters
    ----------
    image : numpy.ndarray, integer, shape (F, H, W)
    b : int
        Patch side, pixels.
    rows_at, cols_at : numpy.ndarray, int64, shape (nr,), (nc,)
        The patch grid (:func:`grid_axis`).

    Returns
    -------
    numpy.ndarray, int64, shape (F * nr * nc,)
        Patch ``(f * nr + r) * nc + c`` first.
    """
    F, H, W = image.shape
    integral = np.zeros((F, H + 1, W + 1), np.int64)
    np.cumsum(np.cumsum(image, axis=1, dtype=np.int64), axis=2, out=integral[:, 1:, 1:])
    top, left = rows_at[:, None], cols_at[None, :]
    sums = (integral[:, top + b, left + b] - integral[:, top, left + b]
            - integral[:, top + b, left] + integral[:, top, left])
    return sums.reshape(-1)
