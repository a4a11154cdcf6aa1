"""Replay a fully sampled scan as a targeted one: :func:`simulate_adaptive`.

The user's own data tell them what targeted sampling would have given: a sparse
first pass, then rounds of (reconstruct, score the unvisited positions, measure the
best batch), reading each new position's value from the full scan, as a scan
generator steered by this package would have measured it.
"""

import numpy as np

from .. import _scan
from .._metadata import SUBSAMPLING_NODE
from .._validate import (
    as_rng,
    check_choice,
    check_fraction,
    check_positive_int,
    resolve_progressbar,
)
from ._planner import CRITERIA, ORDERS, acquisition_score, plan_batch

__all__ = ["simulate_adaptive"]

ADAPTIVE_NODE = "Acquisition.Subsampling.Adaptive"


def _maps(signal, reconstruction, n_guide, *, std):
    """Estimate (and std) per scan position ``(R, C)`` or ``(R, C, L)`` for the planner.

    A spectrum image is scored on its spectral layer maps (the guide, fully
    measured, left out).
    """
    node = reconstruction.metadata.Reconstruction
    if signal.axes_manager.signal_dimension == 2:
        estimate = np.asarray(reconstruction.data, dtype=float)
        spread = np.asarray(node.std.data, dtype=float) if std else None
        return estimate, spread
    estimate = np.moveaxis(np.asarray(node.layers.data, dtype=float), 0, -1)[..., n_guide:]
    spread = (np.moveaxis(np.asarray(node.std.data, dtype=float), 0, -1)[..., n_guide:]
              if std else None)
    return estimate, spread


def simulate_adaptive(signal, fraction=0.1, *, rounds=4, first=0.5, first_pattern="jittered",
                      criterion="distance_variation", order="any", max_travel=None, method="bpfa",
                      guide=None, seed=None, show_progressbar=None, **options):
    """Replay a fully sampled image or spectrum image as if it were scanned adaptively.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A fully sampled image (Signal2D) or spectrum image (two navigation axes,
        one signal axis), one frame.
    fraction : float
        Fraction of the scan positions measured in all, in (0, 1).
    rounds : int
        Batches after the first pass; the positions left after it are shared
        equally between them.
    first : float
        Share of the positions measured in the first pass, in (0, 1].
    first_pattern : str
        Pattern of the first pass (:func:`hyperspy_cs.patterns.scan_pattern`).
    criterion : str
        What decides the next positions, one of
        :data:`hyperspy_cs.adaptive.CRITERIA`: ``"distance_variation"`` (the
        default: SLADS' distance and neighbour spread; needs no reconstruction
        between rounds and works with any ``method``), ``"std"`` (posterior
        standard deviation of BPFA) or ``"std_gradient"`` (it times the gradient
        of the estimate). The default measured best, see the user guide.
    order, max_travel :
        Constraints of the scan generator on each batch, see
        :func:`hyperspy_cs.adaptive.plan_batch`.
    method : str
        Reconstruction method of every round (:func:`hyperspy_cs.inpaint`);
        ``"std"`` criteria need ``"bpfa"``.
    guide : hyperspy.signals.Signal2D or numpy.ndarray, optional
        A fully sampled image of the same grid for a spectrum image (BSE, HAADF),
        as a fast full-frame pass gives it.
    seed : None, int or numpy.random.Generator
        Seed of the first pass, the planner and the reconstructions.
    show_progressbar : bool, optional
        A bar over the rounds. Default: HyperSpy's preference.
    **options
        Passed to the reconstruction of every round (e.g. ``layers``).

    Returns
    -------
    sub : hyperspy.signal.BaseSignal
        The sub-sampled signal as :func:`hyperspy_cs.subsample` makes it, with the
        positions in acquisition order in ``metadata.Acquisition.Subsampling``
        (``pattern`` ``"adaptive"``; ``Adaptive`` holds the criterion, the
        constraints and the positions of each round).
    reconstruction : hyperspy.signal.BaseSignal
        The reconstruction from all of them (``method``, same ``options``).

    Notes
    -----
    With ``"std"`` or ``"std_gradient"`` each round runs one reconstruction (with
    BPFA at defaults as long as an ordinary one), so a replay costs ``rounds + 1``
    of them; ``"distance_variation"`` reconstructs once, at the end.
    """
    from .. import inpaint, subsample
    from .._inpaint import METHODS, check_options
    from ..patterns import PATTERNS, scan_pattern

    layout = _scan.scan_layout(signal)
    if layout.frame_shape:
        raise ValueError("signal: expected a single image or spectrum image, not a stack "
                         f"of {layout.frame_shape} frames")
    if signal.metadata.has_item(SUBSAMPLING_NODE):
        raise ValueError("signal: it is already sub-sampled; simulate_adaptive replays a "
                         "fully sampled scan")
    fraction = check_fraction(fraction)
    if fraction >= 1:
        raise ValueError(f"fraction: expected a fraction below 1, got {fraction}")
    first = check_fraction(first, name="first")
    rounds = check_positive_int(rounds, name="rounds")
    check_choice(criterion, CRITERIA, name="criterion")
    check_choice(order, ORDERS, name="order")
    check_choice(first_pattern, sorted(PATTERNS), name="first_pattern")
    check_choice(method, list(METHODS), name="method")
    needs_std = criterion != "distance_variation"
    if needs_std and method != "bpfa":
        raise ValueError(f"criterion: {criterion!r} needs the posterior std of "
                         f"method='bpfa', not {method!r}; use 'distance_variation'")
    if guide is not None and layout.kind == "image":
        raise ValueError("guide: only a spectrum image takes a guide")
    options = dict(options)
    if needs_std:
        options["uncertainty"] = True
    if guide is not None:
        options["guide"] = guide
    if method == "bpfa":
        options["show_progressbar"] = False
    check_options(method, options, image=layout.kind == "image")
    rng, recorded = as_rng(seed)

    H, W = layout.scan_shape
    total = max(2, int(round(fraction * H * W)))
    _, visited = scan_pattern((H, W), fraction=min(1.0, first * total / (H * W)),
                              pattern=first_pattern, seed=rng)
    visited = list(visited[:total])
    rest = total - len(visited)
    sizes = [rest // rounds + (i < rest % rounds) for i in range(rounds)]
    batches = [len(visited)]
    values = (None if criterion != "distance_variation" else
              _scan.to_canonical(np.asarray(signal.data), layout)[0])
    if values is not None and layout.kind != "image":
        values = values.sum(axis=-1)  # total counts: the spread the planner weighs

    def reconstruct(positions):
        sub = subsample(signal, positions=np.column_stack(np.divmod(positions, W)),
                        seed=recorded, lazy_output=False)
        return sub, inpaint(sub, method=method, seed=recorded, **options)

    from tqdm.auto import tqdm

    with tqdm(total=rounds + 1, desc="adaptive scan", unit="round",
              disable=not resolve_progressbar(show_progressbar)) as bar:
        for size in sizes:
            measured = np.zeros((H, W), bool)
            measured.reshape(-1)[visited] = True
            if size == 0:
                batches.append(0)
                bar.update()
                continue
            if needs_std:
                _, rec = reconstruct(np.asarray(visited))
                estimate, std = _maps(signal, rec, int(guide is not None), std=True)
                score = acquisition_score(measured, criterion=criterion, estimate=estimate,
                                          std=std)
            else:
                score = acquisition_score(measured, criterion=criterion, values=values)
            last = divmod(visited[-1], W)
            batch = plan_batch(score, measured, size, order=order, max_travel=max_travel,
                               start=last, seed=rng)
            visited.extend((batch[:, 0] * W + batch[:, 1]).tolist())
            batches.append(len(batch))
            bar.update()
        sub, rec = reconstruct(np.asarray(visited))
        bar.update()
    node = sub.metadata.Acquisition.Subsampling
    node.pattern = "adaptive"
    node.requested_fraction = fraction
    sub.metadata.set_item(ADAPTIVE_NODE, {
        "criterion": criterion, "method": method, "first_pattern": first_pattern,
        "order": order, "max_travel": -1.0 if max_travel is None else float(max_travel),
        "batch_sizes": np.asarray(batches, dtype=np.int64), "seed": recorded,
    })
    return sub, rec
