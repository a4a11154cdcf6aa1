"""Synthetic acquisitions that look like real ones, for tests, demos and benchmarks.

Every generator takes a ``seed`` and is reproducible. Large random draws (the
noise) are made row by row of the scan, each row from its own stream
``numpy.random.SeedSequence(seed, spawn_key=(stream, row))``; small draws (scan
jitter, grain layout) come from ``numpy.random.default_rng(seed)``. A lazy
result (``lazy=True``, dask chunks of whole scan rows) is therefore equal to the
eager one.
"""

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import dask.array as da
import hyperspy.api as hs
import numpy as np
from exspy.material import elements as elements_db
from exspy.signals import EDSSEMSpectrum, EDSTEMSpectrum, LazyEDSSEMSpectrum, LazyEDSTEMSpectrum
from scipy import ndimage
from scipy.spatial import cKDTree

from ._metadata import SIMULATION_NODE
from ._validate import as_rng, check_bool, check_dose, check_positive_int, check_positive_number

__all__ = ["atomic_resolution_image", "eds_spectrum_image", "EDSTruth"]

# Target size of a lazy chunk (whole scan rows), in array elements.
_CHUNK_ELEMENTS = 2**20
# Noise streams, one per kind of noise, so no two share random numbers.
_STREAM_SIGNAL, _STREAM_GUIDE = 0, 1


def _finite_number(value, *, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    return float(value)


def _items(value, *, name, lengths, expected):
    """The items of a short tuple-like argument (tuple, list or 1-D array)."""
    if isinstance(value, (str, bytes)) or np.ndim(value) != 1 or len(value) not in lengths:
        raise TypeError(f"{name}: expected {expected}, got {value!r}")
    return list(value)


def _scan_shape(shape):
    items = _items(shape, name="shape", lengths=(2,), expected="(n_rows, n_cols)")
    return tuple(check_positive_int(n, name="shape", minimum=2) for n in items)


def _by_rows(rows, shape, dtype, lazy):
    """The array whose rows ``r0:r1`` are ``rows(r0, r1)``, eager or in row chunks."""
    if not lazy:
        return rows(0, shape[0])
    per_chunk = max(1, _CHUNK_ELEMENTS // math.prod(shape[1:]))
    n_full, rest = divmod(shape[0], per_chunk)
    row_chunks = (per_chunk,) * n_full + ((rest,) if rest else ())

    def block(block_info=None):
        r0, r1 = block_info[None]["array-location"][0]
        return rows(r0, r1)

    return da.map_blocks(
        block,
        chunks=(row_chunks, *((n,) for n in shape[1:])),
        dtype=dtype,
        meta=np.empty((0,) * len(shape), dtype=dtype),
    )


def _row_rngs(seed, stream, r0, r1):
    """One generator per scan row ``r0:r1`` (see the module docstring)."""
    for row in range(r0, r1):
        yield np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, row)))


def _poisson_rows(lam, seed, stream, r0):
    """Poisson counts of mean ``lam`` (rows ``r0, r0 + 1, ...`` of the scan)."""
    return np.stack(
        [rng.poisson(row) for rng, row in zip(_row_rngs(seed, stream, r0, r0 + len(lam)), lam)]
    )


def _scan_axes(shape, scale, *, navigate):
    """Axis dictionaries of the scan grid in data-array order (y, x), in nm."""
    return [
        {
            "name": name,
            "size": size,
            "scale": scale,
            "offset": 0.0,
            "units": "nm",
            "navigate": navigate,
        }
        for name, size in zip(("y", "x"), shape)
    ]


def _image(data, shape, scale, lazy):
    cls = hs.signals.LazySignal2D if lazy else hs.signals.Signal2D
    return cls(data, axes=_scan_axes(shape, scale, navigate=False))


# ---------------------------------------------------------------------------
# Atomic-resolution HAADF-STEM image

# Projected columns of a cubic ABO3 perovskite along [001], fractional (x, y)
# positions in the unit cell: A, B-O (B with the O above it) and pure O.
_PEROVSKITE_COLUMNS = (((0.0, 0.0),), ((0.5, 0.5),), ((0.5, 0.0), (0.0, 0.5)))


def _lattice_sum(position, spacing, offset, sigma):
    """Sum of 1-D Gaussians of width ``sigma`` centred on ``spacing * (k + offset)``.

    The 2-D column lattice is separable, ``sum_jk g(x - x_k) g(y - y_j) =
    (sum_k g(x - x_k)) (sum_j g(y - y_j))``, so two 1-D sums give the image.
    """
    reach = int(np.ceil(5 * sigma / spacing)) + 1
    nearest = np.round(position / spacing - offset)
    total = np.zeros(np.shape(position))
    for k in range(-reach, reach + 1):
        distance = position - spacing * (nearest + k + offset)
        total += np.exp(-0.5 * (distance / sigma) ** 2)
    return total


def atomic_resolution_image(
    *,
    shape=(256, 256),
    lattice_spacing=16.0,
    column_sigma=2.0,
    intensities=(1.0, 0.45),
    scan_distortion=0.0,
    drift=(0.0, 0.0),
    dose=None,
    background=0.05,
    lattice_parameter=0.3905,
    seed=None,
    lazy=False,
):
    """A HAADF-STEM image of a perovskite (ABO3) crystal seen along [001].

    Gaussian atomic columns on a square lattice: bright A-site columns at the
    cell corners, dimmer B-site (B-O) columns at the cell centres and,
    optionally, weak pure-oxygen columns at the edge centres (like SrTiO3).
    Intensities are normalised so that an A column peaks at about 1 above 0:
    ``u = background + (1 - background) * sum(columns)``.

    Parameters
    ----------
    shape : tuple of int
        ``(n_rows, n_cols)`` of the scan, in pixels.
    lattice_spacing : float
        Lattice parameter in pixels (distance between A columns).
    column_sigma : float
        Standard deviation of a column's Gaussian profile, in pixels.
    intensities : tuple of float
        Peak heights ``(A, B)`` or ``(A, B, O)``, relative to each other (the
        largest is scaled to 1). Without an O value there are no O columns.
    scan_distortion : float
        Standard deviation of a random shift of each scan row along x, in
        pixels (line-to-line jitter of the scan coils).
    drift : tuple of float
        Linear specimen drift ``(dy, dx)`` in pixels per scan row: row ``r``
        images the specimen shifted by ``r * (dy, dx)``.
    dose : float, optional
        Electrons per pixel. A pixel of normalised intensity ``u`` becomes
        ``Poisson(dose * u) / dose``. None (default) gives the noiseless image;
        the same seed gives the same lattice and scan distortions with or
        without noise.
    background : float
        Uniform background (amorphous layer, diffuse scattering), in [0, 1).
    lattice_parameter : float
        Physical lattice parameter in nm (0.3905 nm, SrTiO3); the pixel size
        is ``lattice_parameter / lattice_spacing``.
    seed : None, int or numpy.random.Generator
        Seed of the scan jitter and of the noise.
    lazy : bool
        Return a lazy signal (dask chunks of scan rows), equal to the eager one.

    Returns
    -------
    hyperspy.signals.Signal2D
        Float64 image of shape ``(n_rows, n_cols)``; axes ``x`` and ``y`` in nm.
        ``metadata.Simulation`` records the generator, its parameters and the
        integer seed used.

    Raises
    ------
    TypeError, ValueError
        For an argument of the wrong type or out of range; the message names it.

    Examples
    --------
    >>> from hyperspy_cs.data import atomic_resolution_image
    >>> s = atomic_resolution_image(shape=(128, 128), dose=50, seed=0)
    >>> s.axes_manager[0].units
    'nm'
    """
    shape = _scan_shape(shape)
    spacing = check_positive_number(lattice_spacing, name="lattice_spacing")
    sigma = check_positive_number(column_sigma, name="column_sigma")
    heights = np.array(
        [
            check_positive_number(v, name="intensities", allow_zero=True)
            for v in _items(
                intensities, name="intensities", lengths=(2, 3), expected="(A, B) or (A, B, O)"
            )
        ]
    )
    if heights.max() == 0:
        raise ValueError("intensities: at least one peak height must be > 0")
    jitter = check_positive_number(scan_distortion, name="scan_distortion", allow_zero=True)
    drift_y, drift_x = (
        _finite_number(v, name="drift")
        for v in _items(drift, name="drift", lengths=(2,), expected="(dy, dx) in pixels per row")
    )
    dose = check_dose(dose)
    background = check_positive_number(background, name="background", allow_zero=True)
    if background >= 1:
        raise ValueError(f"background: expected a number in [0, 1), got {background}")
    lattice_parameter = check_positive_number(lattice_parameter, name="lattice_parameter")
    lazy = check_bool(lazy, name="lazy")
    rng, recorded_seed = as_rng(seed)

    n_rows, n_cols = shape
    row_index = np.arange(n_rows, dtype=float)
    # The specimen position each scan pixel sees; origin a quarter cell in so
    # the first columns are not cut by the image edge.
    y = row_index * (1 + drift_y) - spacing / 4
    x_shift = row_index * drift_x + rng.normal(0.0, jitter, n_rows) - spacing / 4
    x = np.arange(n_cols, dtype=float)

    def rows(r0, r1):
        xs = x[None, :] + x_shift[r0:r1, None]
        columns = np.zeros((r1 - r0, n_cols))
        for height, sites in zip(heights / heights.max(), _PEROVSKITE_COLUMNS):
            for ox, oy in sites:
                profile_y = _lattice_sum(y[r0:r1], spacing, oy, sigma)
                columns += height * profile_y[:, None] * _lattice_sum(xs, spacing, ox, sigma)
        u = background + (1 - background) * columns
        if dose is None:
            return u
        return _poisson_rows(dose * u, recorded_seed, _STREAM_SIGNAL, r0) / dose

    data = _by_rows(rows, shape, np.float64, lazy)
    s = _image(data, shape, lattice_parameter / spacing, lazy)
    s.metadata.General.title = "Simulated HAADF-STEM image (perovskite [001])"
    s.metadata.Signal.quantity = "Intensity (normalised)"
    s.metadata.set_item(
        SIMULATION_NODE,
        {
            "generator": "hyperspy_cs.data.atomic_resolution_image",
            "seed": recorded_seed,
            "parameters": {
                "lattice_spacing": spacing,
                "lattice_parameter": lattice_parameter,
                "column_sigma": sigma,
                "intensities": heights.tolist(),
                "scan_distortion": jitter,
                "drift": [drift_y, drift_x],
                # 0 means noiseless, as in metadata.Acquisition.Subsampling.
                "dose": 0.0 if dose is None else dose,
                "background": background,
            },
        },
    )
    return s


# ---------------------------------------------------------------------------
# EDS spectrum image with a BSE or HAADF guide image

# Weight fractions of the default phases: two alloy grains and an oxide matrix.
_DEFAULT_PHASES = {
    "Fe-rich": {"Fe": 0.70, "Cr": 0.18, "Ni": 0.12},
    "Ni-rich": {"Ni": 0.72, "Cr": 0.16, "Fe": 0.12},
    "SiO2": {"Si": 0.467, "O": 0.533},
}
_MICROSCOPES = {
    # beam energy (keV), pixel size (nm), guide image
    "SEM": (15.0, 20.0, "BSE"),
    "TEM": (200.0, 2.0, "HAADF"),
}
# Energy axis of a typical silicon drift detector.
_ENERGY_OFFSET, _ENERGY_SCALE = -0.1, 0.01  # keV, keV per channel
_RESOLUTION_MNKA = 130.0  # eV, FWHM at Mn Ka
_MNKA = 5.8987  # keV
# Detector window: transmission exp(-(E_window / E)^3) absorbs the soft X-rays.
_WINDOW_ENERGY = 0.3  # keV
# Continuum counts per characteristic count for a mean atomic number of 26.
_CONTINUUM_RATIO = 0.5
# Standard deviation of the blur that softens the grain boundaries, in pixels.
_EDGE_WIDTH = 1.0
# Standard deviation of the guide image's Gaussian noise, relative to its maximum.
_GUIDE_NOISE = 0.01


@dataclass(frozen=True)
class EDSTruth:
    """Ground truth of :func:`eds_spectrum_image`.

    Attributes
    ----------
    spectrum_image : exspy.signals.EDSSEMSpectrum or exspy.signals.EDSTEMSpectrum
        Expected counts (float64, noiseless), same axes and metadata as the
        simulated spectrum image.
    composition : dict of str to hyperspy.signals.Signal2D
        Weight-fraction map (0 to 1) of each element, in the order of
        ``metadata.Sample.elements``.
    phase_fractions : dict of str to hyperspy.signals.Signal2D
        Area fraction (0 to 1) of each phase at each pixel; they sum to 1.
    guide : hyperspy.signals.Signal2D
        The noiseless guide (BSE or HAADF) image.
    """

    spectrum_image: object
    composition: dict
    phase_fractions: dict
    guide: object


def _fwhm(energy):
    """Detector FWHM in keV at ``energy`` (keV), Fiori and Newbury (1978).

    The formula of exspy's ``get_FWHM_at_Energy``: ``FWHM^2 = FWHM_MnKa^2 +
    2.5 (E - E_MnKa)`` in eV.
    """
    return np.sqrt(_RESOLUTION_MNKA**2 + 2.5 * (energy - _MNKA) * 1e3) / 1e3


def _window(energy):
    """Detector window transmission at ``energy`` (keV); 0 at and below 0 keV."""
    return np.exp(-((_WINDOW_ENERGY / np.maximum(energy, 1e-9)) ** 3))


def _check_phases(phases):
    """``{phase: {element: weight fraction}}`` with fractions summing to 1."""
    if not isinstance(phases, Mapping) or not phases:
        raise TypeError(
            f"phases: expected a non-empty {{name: {{element: weight fraction}}}}, got {phases!r}"
        )
    checked = {}
    for name, composition in phases.items():
        if not isinstance(composition, Mapping) or not composition:
            raise TypeError(
                f"phases: the composition of {name!r} must be a non-empty "
                f"{{element: weight fraction}}, got {composition!r}"
            )
        for element in composition:
            if not isinstance(element, str) or not elements_db.has_item(element):
                raise ValueError(f"phases: unknown element {element!r} in phase {name!r}")
        fractions = {
            el: check_positive_number(v, name="phases", allow_zero=True)
            for el, v in composition.items()
        }
        total = math.fsum(fractions.values())
        if total == 0:
            raise ValueError(f"phases: the weight fractions of {name!r} sum to 0")
        checked[str(name)] = {el: v / total for el, v in fractions.items()}
    return checked


def _lines(element, beam_energy):
    """``(energy keV, weight)`` of the X-ray lines the beam can excite."""
    lines = elements_db[element].Atomic_properties.Xray_lines
    return [
        (line["energy (keV)"], line["weight"])
        for line in lines.as_dictionary().values()
        if line["energy (keV)"] < beam_energy
    ]


def _phase_spectra(phases, energy, beam_energy, z):
    """Spectrum of each phase, ``(n_phases, n_channels)``, each summing to 1.

    ``energy`` holds the channel energies (keV) and ``z`` the atomic number of
    each element.
    """
    kramers = ((beam_energy - energy) / np.maximum(energy, 1e-9)).clip(min=0) * _window(energy)
    kramers /= kramers.sum()
    spectra = []
    for composition in phases.values():
        lines = np.zeros_like(energy)
        for element, fraction in composition.items():
            for line_energy, weight in _lines(element, beam_energy):
                sigma = _fwhm(line_energy) / (2 * np.sqrt(2 * np.log(2)))
                # Counts per channel of a line of unit area.
                peak = np.exp(-0.5 * ((energy - line_energy) / sigma) ** 2)
                peak *= _ENERGY_SCALE / (sigma * np.sqrt(2 * np.pi))
                lines += fraction * weight * _window(line_energy) * peak
        spectrum = lines + _CONTINUUM_RATIO * _mean_z(composition, z) / 26 * lines.sum() * kramers
        spectra.append(spectrum / spectrum.sum())
    return np.array(spectra)


def _mean_z(composition, z):
    """Mean atomic number, weighted by weight fraction."""
    return sum(fraction * z[el] for el, fraction in composition.items())


def _grain_fractions(shape, n_phases, grain_size, rng):
    """Area fraction of each phase at each pixel, ``(n_rows, n_cols, n_phases)``.

    Voronoi grains of random phase (every phase present); blurring the one-hot
    phase maps softens the boundaries over about ``_EDGE_WIDTH`` pixels and
    keeps the fractions summing to 1.
    """
    n_grains = max(n_phases, round(shape[0] * shape[1] / grain_size**2))
    centres = rng.uniform((0, 0), shape, size=(n_grains, 2))
    phase_of = rng.permutation(
        np.concatenate([np.arange(n_phases), rng.integers(n_phases, size=n_grains - n_phases)])
    )
    pixels = np.stack(np.meshgrid(*(np.arange(n) + 0.5 for n in shape), indexing="ij"), -1)
    _, grain = cKDTree(centres).query(pixels.reshape(-1, 2))
    one_hot = np.eye(n_phases)[phase_of[grain]].reshape(*shape, n_phases)
    return ndimage.gaussian_filter(one_hot, sigma=(_EDGE_WIDTH, _EDGE_WIDTH, 0), mode="nearest")


def _guide_brightness(phases, z, microscope):
    """Guide-image brightness of each phase, from its atomic numbers."""
    if microscope == "SEM":
        # Backscatter coefficient of the mean atomic number, Reuter (1972).
        z_mean = np.array([_mean_z(c, z) for c in phases.values()])
        return -0.0254 + 0.016 * z_mean - 1.86e-4 * z_mean**2 + 8.3e-7 * z_mean**3
    # HAADF: incoherent Z^1.7 scattering, scaled to a maximum of 1.
    haadf = np.array([sum(f * z[el] ** 1.7 for el, f in c.items()) for c in phases.values()])
    return haadf / haadf.max()


def eds_spectrum_image(
    *,
    shape=(64, 64),
    n_channels=1024,
    phases=None,
    counts_per_pixel=200.0,
    beam_energy=None,
    microscope="SEM",
    grain_size=16.0,
    seed=None,
    lazy=False,
    return_truth=False,
):
    """An EDS spectrum image of a polycrystalline sample and its guide image.

    The sample is a mosaic of Voronoi grains, each of one phase, with soft
    boundaries. Each phase's spectrum has Gaussian X-ray lines at the energies
    and relative weights of exspy's element database (weighted by the weight
    fraction; lines above the beam energy are not excited) broadened with the
    detector resolution (130 eV at Mn Ka, growing with energy as in exspy's
    ``get_FWHM_at_Energy``), plus a Kramers continuum ``~ Z (E0 - E) / E``; a
    detector window absorbs the soft X-rays (below about 0.3 keV). There is no
    matrix (ZAF) correction. The guide image (BSE for ``"SEM"``, HAADF for
    ``"TEM"``) is fully sampled with 1 % Gaussian noise, on the same scan grid,
    so its edges are those of the element maps.

    Parameters
    ----------
    shape : tuple of int
        ``(n_rows, n_cols)`` of the scan, in pixels.
    n_channels : int
        Number of energy channels, 10 eV each from -0.1 keV (1024 channels
        reach 10.1 keV).
    phases : dict, optional
        ``{name: {element: weight fraction}}``; fractions are normalised to sum
        to 1. Default: ``"Fe-rich"`` (Fe 0.70, Cr 0.18, Ni 0.12), ``"Ni-rich"``
        (Ni 0.72, Cr 0.16, Fe 0.12) and ``"SiO2"`` (Si 0.467, O 0.533).
    counts_per_pixel : float
        Expected total X-ray counts per pixel (every pixel, every phase).
    beam_energy : float, optional
        Beam energy in keV. Default: 15 keV (SEM) or 200 keV (TEM).
    microscope : {"SEM", "TEM"}
        ``"SEM"``: an ``EDSSEMSpectrum`` with a BSE image (backscatter
        coefficient from the mean atomic number), 20 nm pixels. ``"TEM"``: an
        ``EDSTEMSpectrum`` with a HAADF image (``Z^1.7`` contrast), 2 nm pixels.
    grain_size : float
        Mean grain diameter in pixels.
    seed : None, int or numpy.random.Generator
        Seed of the grain layout and of the noise.
    lazy : bool
        Return lazy signals (dask chunks of scan rows), equal to the eager ones.
    return_truth : bool
        Also return the ground truth as an :class:`EDSTruth`.

    Returns
    -------
    si : exspy.signals.EDSSEMSpectrum or exspy.signals.EDSTEMSpectrum
        Poisson counts, ``uint32``, data shape ``(n_rows, n_cols, n_channels)``
        (navigation axes ``x``, ``y`` in nm; signal axis ``Energy`` in keV).
        ``metadata.Sample.elements`` and ``xray_lines`` (chosen by exspy's
        ``add_lines`` for the beam energy and energy range) are set, and the
        beam energy and detector resolution in ``metadata.Acquisition_instrument``.
    guide : hyperspy.signals.Signal2D
        BSE or HAADF image, float64, shape ``(n_rows, n_cols)``, same axes.
    truth : EDSTruth
        Only with ``return_truth=True``.

    Both signals record the generator, its parameters and the integer seed
    used in ``metadata.Simulation``.

    Raises
    ------
    TypeError, ValueError
        For an argument of the wrong type or out of range, or an element with
        no X-ray line inside the energy range below the beam energy; the
        message names the argument.

    Examples
    --------
    >>> from hyperspy_cs.data import eds_spectrum_image
    >>> si, bse, truth = eds_spectrum_image(seed=0, return_truth=True)
    >>> si.metadata.Sample.xray_lines
    ['Cr_Ka', 'Fe_Ka', 'Ni_Ka', 'O_Ka', 'Si_Ka']
    """
    shape = _scan_shape(shape)
    n_channels = check_positive_int(n_channels, name="n_channels", minimum=16)
    phases = _check_phases(_DEFAULT_PHASES if phases is None else phases)
    counts_per_pixel = check_positive_number(counts_per_pixel, name="counts_per_pixel")
    if not isinstance(microscope, str) or microscope not in _MICROSCOPES:
        raise ValueError(f"microscope: expected 'SEM' or 'TEM', got {microscope!r}")
    default_energy, pixel_size, guide_name = _MICROSCOPES[microscope]
    beam_energy = (
        check_positive_number(beam_energy, name="beam_energy", allow_none=True) or default_energy
    )
    grain_size = check_positive_number(grain_size, name="grain_size")
    lazy = check_bool(lazy, name="lazy")
    return_truth = check_bool(return_truth, name="return_truth")
    energy = _ENERGY_OFFSET + _ENERGY_SCALE * np.arange(n_channels)
    e_max = energy[-1] + _ENERGY_SCALE
    elements = sorted({el for composition in phases.values() for el in composition})
    for element in elements:
        if not any(0 < e < e_max for e, _ in _lines(element, beam_energy)):
            raise ValueError(
                f"n_channels, beam_energy: {element} has no X-ray line between 0 and "
                f"{min(e_max, beam_energy):.3g} keV"
            )
    rng, recorded_seed = as_rng(seed)

    z = {el: elements_db[el].General_properties.Z for el in elements}
    spectra = _phase_spectra(phases, energy, beam_energy, z)
    fractions = _grain_fractions(shape, len(phases), grain_size, rng)
    brightness = _guide_brightness(phases, z, microscope)
    noise_sigma = _GUIDE_NOISE * brightness.max()
    n_rows, n_cols = shape
    spectrum_shape = (*shape, n_channels)

    def expected(r0, r1):
        return counts_per_pixel * fractions[r0:r1] @ spectra

    def counts(r0, r1):
        return _poisson_rows(expected(r0, r1), recorded_seed, _STREAM_SIGNAL, r0).astype(np.uint32)

    def guide_rows(r0, r1, noise):
        clean = fractions[r0:r1] @ brightness
        if not noise:
            return clean
        rngs = _row_rngs(recorded_seed, _STREAM_GUIDE, r0, r1)
        return clean + noise_sigma * np.stack([rng.standard_normal(n_cols) for rng in rngs])

    simulation = {
        "generator": "hyperspy_cs.data.eds_spectrum_image",
        "seed": recorded_seed,
        "parameters": {
            "phases": phases,
            "counts_per_pixel": counts_per_pixel,
            "beam_energy": beam_energy,
            "microscope": microscope,
            "grain_size": grain_size,
        },
    }
    eds_class = {
        "SEM": (EDSSEMSpectrum, LazyEDSSEMSpectrum),
        "TEM": (EDSTEMSpectrum, LazyEDSTEMSpectrum),
    }[microscope][lazy]
    energy_axis = {
        "name": "Energy",
        "size": n_channels,
        "scale": _ENERGY_SCALE,
        "offset": _ENERGY_OFFSET,
        "units": "keV",
        "navigate": False,
    }

    def spectrum_image(data, title, quantity):
        s = eds_class(data, axes=[*_scan_axes(shape, pixel_size, navigate=True), energy_axis])
        s.metadata.General.title = title
        s.metadata.Signal.quantity = quantity
        s.set_microscope_parameters(
            beam_energy=beam_energy, energy_resolution_MnKa=_RESOLUTION_MNKA
        )
        s.add_elements(elements)
        s.add_lines()
        s.metadata.set_item(SIMULATION_NODE, simulation)
        return s

    def image(data, title, quantity):
        s = _image(data, shape, pixel_size, lazy)
        s.metadata.General.title = title
        s.metadata.Signal.quantity = quantity
        s.metadata.set_item(f"Acquisition_instrument.{microscope}.beam_energy", beam_energy)
        s.metadata.set_item(SIMULATION_NODE, simulation)
        return s

    guide_quantity = "Backscatter coefficient" if microscope == "SEM" else "Intensity (a.u.)"
    si = spectrum_image(
        _by_rows(counts, spectrum_shape, np.uint32, lazy),
        "Simulated EDS spectrum image",
        "X-rays (Counts)",
    )
    guide = image(
        _by_rows(lambda r0, r1: guide_rows(r0, r1, True), shape, np.float64, lazy),
        f"Simulated {guide_name} image",
        guide_quantity,
    )
    if not return_truth:
        return si, guide

    def fraction_map(weights, title):
        return image(
            _by_rows(lambda r0, r1: fractions[r0:r1] @ weights, shape, np.float64, lazy),
            title,
            "Fraction",
        )

    truth = EDSTruth(
        spectrum_image=spectrum_image(
            _by_rows(expected, spectrum_shape, np.float64, lazy),
            "Simulated EDS spectrum image (expected counts)",
            "X-rays (Counts)",
        ),
        composition={
            el: fraction_map(np.array([c.get(el, 0.0) for c in phases.values()]), el)
            for el in elements
        },
        phase_fractions={
            name: fraction_map(np.eye(len(phases))[k], name) for k, name in enumerate(phases)
        },
        guide=image(
            _by_rows(lambda r0, r1: guide_rows(r0, r1, False), shape, np.float64, lazy),
            f"Simulated {guide_name} image (noiseless)",
            guide_quantity,
        ),
    )
    return si, guide, truth
