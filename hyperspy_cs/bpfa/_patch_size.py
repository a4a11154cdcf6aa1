"""The patch size a reconstruction takes from its scan (``patch_size="auto"``).

A patch is coded from the pixels it has visited, so the patch has to grow as the
sampling fraction ``f`` drops: ``b = ceil(sqrt(visited / f))`` keeps about
``visited`` visited pixels in every patch, within ``[smallest, LARGEST]`` and no
more than an eighth of the scan's shorter side (a small scan has too few patches to
learn large atoms from).

Measured on 256 x 256 images at 2-25 % random sampling (PSNR against the full
image, seed 0, against biharmonic interpolation; ``benchmarks/bench_low_sampling.py
--patterns random --patch-sizes 11 16 20 24`` prints every figure below):
every image gains from larger patches as the fraction drops, crystals most, while
the time of a call grows about as ``b * b`` at a given fraction (at 5 %, 16 px
patches take 2.7 times and 20 px patches 5.1-6.8 times as long as 8 px ones):

- crystals (the SrTiO3 ADF image): 23.9 dB at 8 px, 26.7 at 16 and 27.2 at 20 at 5 %
  (biharmonic 26.4); 29.5 at 11 and 30.0 at 16 at 10 % (biharmonic 28.7). A lattice
  (:func:`periodic`) takes ``visited = 24``: 16 px at 10 %, 20 px at 5 %.
- other images (camera, the SiO2 HAADF image) gain a tenth of that from the larger
  patches (camera at 10 %: 25.02 dB at 11 px, 25.07 at 16; at 5 %: 22.82 at 16,
  22.89 at 20) and take ``visited = 12`` (11 px at 10 %, 16 px at 5 %), which is
  above biharmonic interpolation at every fraction measured, in half the time.

Spectrum images whose layers are counts (X-ray line maps) also need enough
counts in a patch: at under two line counts per pixel a 6 px patch holds too few
to tell structure from noise, and Gaussian smoothing beat BPFA by a factor of ten
on the FePt map. Without a guide the side is at least ``ceil(sqrt(COUNTS /
counts))``, ``counts`` the line counts per visited position summed over the
layers, at most a quarter of the scan's shorter side (see ``COUNTS``).

Beyond ``LARGEST`` the dictionary update (``b*b x b*b`` factors per atom) dominates
for little gain: 24 px patches at 2 % gain 0.0-0.6 dB over 20 px ones, in about
twice the time.
"""

import math

import numpy as np

from .._reconstruct import check_finite_samples
from .._validate import check_positive_int

#: ``(visited, smallest)`` per kind of data: the visited pixels a patch should hold
#: and the side at high fractions. Spectrum images without a guide code PCA or line
#: layers, each summing many channels: on the SiO2 EDS map at 10 % (C, O and Si
#: line maps against the other half of the counts,
#: ``bench_bpfa_quality.py sio2 --sio2-patch-size B``) 11 px patches score 22.69 dB
#: and 16 px ones the same, in twice the time.
RULES = {"image": (12, 8), "crystal": (24, 8), "spectrum_image": (12, 6)}
LARGEST = 20
#: Line counts a patch of a count spectrum image should hold without a guide, at
#: every fraction: the patch a denoising of the whole map needs, which sampling
#: does not shrink. Error of the line maps against the other half of the counts
#: (``bench_counts.py`` scoring, seed 0, without a guide), by side:
#:
#: - granite, 1.5 line counts per position, fully sampled: 92.5 % at 6 px (the
#:   sampling rule), 66.0 % at 10 (this rule), 89.7 % at 16; at 25, 10 and 5 %
#:   of the positions 172.9, 228.5 and 181.8 % (this rule, 10-11 px) against
#:   195.5, 218.4 and 244.3 % (the sampling rule, 7-9 px);
#: - granite at 4.5 line counts: 35.5 % at 6 px (both rules), 38.8 % at 10;
#: - FePt (64 x 64), 0.16 line counts per position: fully sampled 47.5 % at 6 px,
#:   15.7 % at 16 (this rule, capped; Gaussian smoothing 4.4 %); at 10 % 75.0 %
#:   at 8 px, 73.5 % at 16; at 1.5 line counts fully sampled 13.7 % at 6 px,
#:   11.8 % at 10 (this rule), 10.3 % at 16.
#:
#: The cap is a quarter of the scan's side, not the sampling rule's eighth: the
#: 64 px FePt map gains most at 16 px, while granite's sub-sampled maps lose from
#: patches above the eighth (218 % at 9 px, 308 % at 16, 1.5 line counts, 10 %).
COUNTS = 150
# The lattice test reads at most this central window of the scan, so that a lazy
# map (read only here and in its tiles) is tested on the same pixels as in memory.
_WINDOW = 512


def periodic(data, observed):
    """Whether a sub-sampled image shows a crystal lattice.

    The central window (at most ``_WINDOW`` px a side), filled by normalised
    convolution (:func:`hyperspy_cs.classical._fourier.fourier_lowpass`, frames
    summed), has a lattice peak above the strict threshold of
    :func:`hyperspy_cs.classical._nonlocal.lattice_period`. Filling keeps the
    fringes and removes most of the flat floor the gaps give a zero-filled image,
    which hides the lattice of a 128 x 128 crop at 10 %. On the images of
    ``bench_low_sampling.py`` at 2-25 % random and line-hop sampling this finds
    the lattice of both SrTiO3 images at every fraction (of a 128 x 128 crop from
    5 %), and none in camera or the SiO2 HAADF image.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array, shape (F, R, C, 1)
    observed : numpy.ndarray of bool, shape (F, R, C)
    """
    from ..classical._fourier import fourier_lowpass
    from ..classical._nonlocal import lattice_period

    rows, cols = observed.shape[1:]
    top, left = max(0, (rows - _WINDOW) // 2), max(0, (cols - _WINDOW) // 2)
    window = (slice(None), slice(top, top + _WINDOW), slice(left, left + _WINDOW))
    values = np.asarray(data[window], dtype=np.float64)
    check_finite_samples(values[observed[window]])
    filled = fourier_lowpass(values, observed[window], reblend=False)[0]
    return lattice_period(filled) is not None


def auto_patch_size(fraction, scan_shape, *, kind, guided=False, counts=None):
    """The patch side for a scan ``(R, C)`` that visited ``fraction`` of its positions.

    Parameters
    ----------
    fraction : float
        Visited fraction of the scan positions, in ``(0, 1]``.
    scan_shape : tuple of int
        ``(R, C)``, in pixels.
    kind : {"image", "crystal", "spectrum_image"}
        What is reconstructed (``RULES``).
    guided : bool
        Whether a fully sampled guide image is the first layer of every patch.
    counts : float, optional
        Counts per visited position summed over the layers, when the layers are
        counts (``COUNTS``); a guide's patches keep their side.

    Returns
    -------
    side : int
        At most ``min(R, C)``.
    reason : str
        How ``side`` was found, for ``metadata.Reconstruction.patch_size_reason``.
    """
    visited, smallest = RULES[kind]
    if guided:
        # The guide gives every patch b*b visited pixels; on the SiO2 map larger
        # patches lose (26.18 dB at 6 px, 25.97 at 16 px, 10 %) in up to ten times the time.
        side, reason = smallest, f"a fully sampled guide: {smallest} px"
    else:
        wanted = math.ceil(math.sqrt(visited / fraction))
        side = min(max(wanted, smallest), LARGEST)
        reason = (f"{kind}, {fraction:.1%} of the positions visited: ceil(sqrt({visited} / f))"
                  f" = {wanted}, within [{smallest}, {LARGEST}]")
        cap = max(min(scan_shape) // 8, smallest)
        if side > cap:
            side = cap
            reason += f", at most max(min(R, C) // 8, {smallest}) = {cap} for this scan"
        reason += f": {side} px"
        if counts is not None:
            side, reason = _enough_counts(side, reason, counts, scan_shape, smallest)
    if side > min(scan_shape):
        side = min(scan_shape)
        reason += f", at most the scan's side: {side} px"
    return side, reason


def _enough_counts(side, reason, counts, scan_shape, smallest):
    """``side`` grown, within its own cap, until a patch holds ``COUNTS`` counts."""
    wanted = math.ceil(math.sqrt(COUNTS / counts)) if counts > 0 else LARGEST
    grown = min(wanted, LARGEST, max(min(scan_shape) // 4, smallest))
    if grown <= side:
        return side, reason
    return grown, (f"{reason}; grown to hold {COUNTS} counts at {counts:.3g} counts per "
                   f"position: ceil(sqrt({COUNTS} / counts)) = {wanted}, within "
                   f"[{smallest}, {LARGEST}] and at most max(min(R, C) // 4, {smallest}): "
                   f"{grown} px")


def resolve_patch_size(patch_size, atoms, observed, *, data=None, guided=False,
                       counts=None):
    """``patch_size`` checked against the scan mask ``observed`` ``(F, R, C)``.

    ``"auto"`` (or None): the atoms' side, else :func:`auto_patch_size` for an image
    (``data`` ``(F, R, C, 1)``, tested with :func:`periodic`) or, without ``data``, a
    spectrum image (with its layers' ``counts``). Returns ``(side, reason)``;
    ``reason`` says where the side came from.
    """
    scan_shape = observed.shape[-2:]
    auto = patch_size is None or (isinstance(patch_size, str) and patch_size == "auto")
    if isinstance(patch_size, str) and not auto:
        raise ValueError(f"patch_size: expected 'auto' or an int, got {patch_size!r}")
    if atoms is not None:
        side = atoms.shape[1]
        if auto:
            return side, f"the dictionary's atoms: {side} px"
        if patch_size != side:
            raise ValueError(
                f"patch_size: the dictionary's atoms are {side} x {side}, "
                f"got patch_size={patch_size}"
            )
    if auto:
        if data is None:
            kind = "spectrum_image"
        else:
            kind = "crystal" if periodic(data, observed) else "image"
        return auto_patch_size(float(observed.mean()), scan_shape, kind=kind, guided=guided,
                               counts=counts)
    patch_size = check_positive_int(patch_size, name="patch_size", minimum=2)
    if patch_size > min(scan_shape):
        raise ValueError(
            f"patch_size: {patch_size} px patches do not fit in the {scan_shape[0]} x "
            f"{scan_shape[1]} scan; use a smaller patch_size"
        )
    return patch_size, f"given: {patch_size} px"
