"""Sub-sampled scan patterns: which positions a probe visits, and in what order.

Every pattern returns ``(sampled, order)``: ``sampled`` is a bool array of the scan
shape in numpy ``(row, col)`` order (True = visited) and ``order`` the visited
positions as flat indices ``row * n_cols + col`` in acquisition order. The order is
kept because it decides dose accumulation, drift and coil travel on a real
instrument.

=============  ==============================================================
``random``     exactly ``round(fraction * n)`` uniformly random positions,
               visited in raster order
``line_hop``   along each row, left to right, with random forward hops of
               mean ``1 / fraction`` (``round(fraction * n)`` positions spread
               evenly over the rows): no long jumps, what most scan coils can do
``jittered``   one random position in each block of about ``1 / fraction``
               pixels (e.g. 1 in 8 x 8 gives 1.56 %)
``regular``    a regular lattice (down-sampling), centred in its cells
``spiral``     an Archimedean spiral from the centre outwards, with turn and
               along-path spacing ``1 / sqrt(fraction)`` pixels
=============  ==============================================================
"""

import numpy as np

from ._validate import as_rng, check_choice, check_fraction

__all__ = ["PATTERNS", "scan_pattern", "pattern_from_mask", "pattern_from_positions"]


def _raster(flat, shape):
    order = np.sort(np.asarray(flat, dtype=np.int64))
    sampled = np.zeros(shape, dtype=bool)
    sampled.flat[order] = True
    return sampled, order


def _random(shape, fraction, rng):
    n = shape[0] * shape[1]
    k = max(1, int(round(fraction * n)))
    return _raster(rng.choice(n, size=k, replace=False), shape)


def _line_hop(shape, fraction, rng):
    n_rows, n_cols = shape
    total = max(1, int(round(fraction * n_rows * n_cols)))
    # Cumulative rounding spreads the total over the rows, so the achieved
    # fraction is exact while every row keeps random forward hops.
    per_row = np.diff(np.rint(np.arange(n_rows + 1) * total / n_rows).astype(np.int64))
    order = np.concatenate([
        row * n_cols + np.sort(rng.choice(n_cols, size=k, replace=False))
        for row, k in enumerate(per_row)
    ])
    sampled = np.zeros(shape, dtype=bool)
    sampled.flat[order] = True
    return sampled, order


def _cell(shape, fraction):
    """Cell (rows, cols) whose area is closest to ``1 / fraction``, within the grid."""
    area = 1.0 / fraction
    height = min(shape[0], max(1, int(round(np.sqrt(area)))))
    width = min(shape[1], max(1, int(round(area / height))))
    return height, width


def _jittered(shape, fraction, rng):
    height, width = _cell(shape, fraction)
    origins_r = np.arange(0, shape[0], height)
    origins_c = np.arange(0, shape[1], width)
    r = origins_r[:, None] + rng.integers(0, height, size=(origins_r.size, origins_c.size))
    c = origins_c[None, :] + rng.integers(0, width, size=(origins_r.size, origins_c.size))
    # Positions drawn beyond the edge of a partial block are dropped rather than
    # clipped, so the density stays uniform up to the border.
    keep = (r < shape[0]) & (c < shape[1])
    return _raster(r[keep] * shape[1] + c[keep], shape)


def _regular(shape, fraction, rng):
    height, width = _cell(shape, fraction)
    r = np.arange(height // 2, shape[0], height)
    c = np.arange(width // 2, shape[1], width)
    return _raster((r[:, None] * shape[1] + c[None, :]).ravel(), shape)


def _spiral(shape, fraction, rng):
    spacing = 1.0 / np.sqrt(fraction)
    a = spacing / (2 * np.pi)  # r = a * theta: one turn per `spacing` pixels
    centre = (np.array(shape) - 1) / 2.0
    r_max = np.hypot(*(np.array(shape) / 2.0)) + spacing
    # Arc length of an Archimedean spiral is about a * theta**2 / 2, so equal
    # steps in arc length are equal steps in theta**2.
    s_max = a * (r_max / a) ** 2 / 2
    s = np.arange(0.0, s_max, spacing)
    theta = np.sqrt(2 * s / a)
    rows = np.rint(centre[0] + a * theta * np.sin(theta)).astype(np.int64)
    cols = np.rint(centre[1] + a * theta * np.cos(theta)).astype(np.int64)
    keep = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    flat = rows[keep] * shape[1] + cols[keep]
    # Near the centre several path points round to one pixel: keep the first visit.
    _, first = np.unique(flat, return_index=True)
    order = flat[np.sort(first)]
    sampled = np.zeros(shape, dtype=bool)
    sampled.flat[order] = True
    return sampled, order


PATTERNS = {
    "random": _random,
    "line_hop": _line_hop,
    "jittered": _jittered,
    "regular": _regular,
    "spiral": _spiral,
}


def _check_shape(shape):
    shape = tuple(int(n) for n in shape)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape: expected (n_rows, n_cols) with both >= 1, got {shape}")
    return shape


def scan_pattern(shape, *, fraction=0.1, pattern="random", seed=None):
    """Positions visited by a sub-sampled scan.

    Parameters
    ----------
    shape : tuple of int
        ``(n_rows, n_cols)`` of the scan grid.
    fraction : float
        Target fraction of visited positions, in (0, 1]. ``random`` hits it
        exactly; the other patterns as closely as their geometry allows (the
        achieved fraction is ``sampled.mean()``).
    pattern : str
        One of ``PATTERNS``: ``"random"``, ``"line_hop"``, ``"jittered"``,
        ``"regular"``, ``"spiral"``.
    seed : None, int or numpy.random.Generator
        Seed for the random patterns.

    Returns
    -------
    sampled : numpy.ndarray of bool, shape (n_rows, n_cols)
        True where the probe visits.
    order : numpy.ndarray of int64, shape (n_visited,)
        Flat indices ``row * n_cols + col`` in acquisition order.
    """
    shape = _check_shape(shape)
    fraction = check_fraction(fraction)
    check_choice(pattern, sorted(PATTERNS), name="pattern")
    rng = seed if isinstance(seed, np.random.Generator) else as_rng(seed)[0]
    return PATTERNS[pattern](shape, fraction, rng)


def pattern_from_mask(mask, shape):
    """``(sampled, order)`` for a user mask, visited in raster order.

    Parameters
    ----------
    mask : array_like of bool, shape (n_rows, n_cols)
        True = visited, numpy ``(row, col)`` order.
    shape : tuple of int
        Expected ``(n_rows, n_cols)``.
    """
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"mask: expected a bool array (True = visited), got dtype {mask.dtype}")
    if mask.shape != tuple(shape):
        raise ValueError(
            f"mask: expected shape {tuple(shape)} (rows, cols of the scan grid), got {mask.shape}"
        )
    if not mask.any():
        raise ValueError("mask: no position is marked as visited")
    return mask.copy(), np.flatnonzero(mask).astype(np.int64)


def pattern_from_positions(positions, shape):
    """``(sampled, order)`` from visited ``(row, col)`` positions in acquisition order.

    Parameters
    ----------
    positions : array_like of int, shape (n_visited, 2)
        ``(row, col)`` of each visit, in the order the instrument visited them.
    shape : tuple of int
        ``(n_rows, n_cols)`` of the scan grid.
    """
    positions = np.asarray(positions)
    if positions.ndim != 2 or positions.shape[1] != 2 or positions.shape[0] == 0:
        raise ValueError(
            f"positions: expected a non-empty (n, 2) list of (row, col), got shape {positions.shape}"
        )
    if positions.dtype.kind not in "iu":
        rounded = np.rint(positions)
        if not np.array_equal(rounded, positions):
            raise ValueError("positions: expected integer (row, col) grid indices")
        positions = rounded
    positions = positions.astype(np.int64)
    out = (positions < 0) | (positions >= np.array(shape))
    if out.any():
        bad = positions[out.any(axis=1)][0]
        raise ValueError(f"positions: {tuple(int(v) for v in bad)} lies outside the scan grid {tuple(shape)}")
    order = positions[:, 0] * shape[1] + positions[:, 1]
    if np.unique(order).size != order.size:
        raise ValueError(
            "positions: some positions are visited twice; sum repeated visits into one "
            "spectrum first (or pass them as separate frames)"
        )
    sampled = np.zeros(shape, dtype=bool)
    sampled.flat[order] = True
    return sampled, order
