"""The metadata contract: what this package writes into a signal's metadata, and reads back.

Every writer and reader of these nodes goes through this module:

``metadata.Acquisition.Subsampling``
    ``sampled`` (bool, ``(row, col)`` order, True = visited; frames first),
    ``order`` (visit order as flat indices ``row * n_cols + col``; one row per
    frame, padded with -1), ``pattern``, ``fraction`` (achieved),
    ``requested_fraction``, ``seed`` (None for a measured pattern) and ``dose``
    (0.0: no simulated dose). Written by :func:`hyperspy_cs.subsample`,
    :func:`hyperspy_cs.from_positions` and :func:`hyperspy_cs.from_mask`; read
    by every reconstruction (the mask rules of ``_reconstruct``).
``metadata.Acquisition.Compact``
    The positions and full axes of a :func:`hyperspy_cs.save_compact` file.
``metadata.Acquisition.Thinning``
    ``fraction``, ``seed``, ``part`` of a :func:`hyperspy_cs.split_counts` half.
``metadata.Simulation``
    The ground truth parameters of a :mod:`hyperspy_cs.data` generator.
``metadata.Reconstruction``
    What a reconstruction did (``_reconstruct.output_signal``).

They are plain metadata: files written with them reload with ``hs.load``
without this package.
"""

import numpy as np

__all__ = ["get_mask", "get_order"]

SUBSAMPLING_NODE = "Acquisition.Subsampling"
_COUNT_SIGNAL_TYPES = ("EDS", "EELS")


def is_count_data(signal):
    """True for detector counts (integer data, EDS or EELS spectra)."""
    signal_type = signal.metadata.get_item("Signal.signal_type", "") or ""
    return signal.data.dtype.kind in "iu" or signal_type.startswith(_COUNT_SIGNAL_TYPES)


def subsampling_metadata(sampled, order, *, pattern, requested_fraction=None, seed=None,
                         dose=None):
    """The ``metadata.Acquisition.Subsampling`` node, as every writer of it stores it.

    ``requested_fraction`` defaults to the achieved one (a given mask or a
    measured pattern), ``dose`` 0.0 means no simulated dose, and ``seed`` None a
    pattern that was not drawn at random.
    """
    fraction = float(np.mean(sampled))
    return {
        "sampled": sampled,
        "order": order,
        "pattern": pattern,
        "fraction": fraction,
        "requested_fraction": fraction if requested_fraction is None else float(requested_fraction),
        "seed": seed,
        "dose": 0.0 if dose is None else float(dose),
    }

COMPACT_NODE = "Acquisition.Compact"
COMPACT_VERSION = 1
THINNING_NODE = "Acquisition.Thinning"
SIMULATION_NODE = "Simulation"
RECONSTRUCTION_NODE = "Reconstruction"


def subsampling_node(signal):
    from hyperspy.signal import BaseSignal

    if not isinstance(signal, BaseSignal):
        raise TypeError(f"signal: expected a HyperSpy signal, got {type(signal).__name__}")
    if not signal.metadata.has_item(f"{SUBSAMPLING_NODE}.sampled"):
        raise ValueError(
            "signal: no metadata.Acquisition.Subsampling.sampled; it was not made by "
            "hyperspy_cs.subsample (pass mask= explicitly, or build it with "
            "hyperspy_cs.subsample(..., mask=...))"
        )
    return signal.metadata.get_item(SUBSAMPLING_NODE)


def as_numpy(value):
    # Lazily loaded .hspy/.zspy files hand metadata arrays back as dask arrays.
    return np.asarray(value.compute() if hasattr(value, "compute") else value)


def get_mask(signal):
    """The ``sampled`` mask of a sub-sampled signal.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A signal with ``metadata.Acquisition.Subsampling.sampled`` (made by
        :func:`subsample` or loaded from a file written after it).

    Returns
    -------
    numpy.ndarray of bool
        Shape ``(n_rows, n_cols)`` (frames first for stacks), numpy (row, col)
        order, True = visited.
    """
    return as_numpy(subsampling_node(signal).sampled).astype(bool)


def get_order(signal):
    """Visit order of a sub-sampled signal as flat indices ``row * n_cols + col``.

    Returns
    -------
    numpy.ndarray of int64
        Shape ``(n_visited,)``, or ``(n_frames, max_visited)`` padded with -1.
    """
    return as_numpy(subsampling_node(signal).order).astype(np.int64)
