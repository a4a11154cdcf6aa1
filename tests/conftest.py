import pathlib

import hyperspy.api as hs
import numpy as np
import pytest

from threadpoolctl import threadpool_limits

import hyperspy_cs  # noqa: F401  (registers the signal methods)

# On 2 shared cores, multi-threaded BLAS inside scipy's interpolators oversubscribes
# the machine (numba already runs one thread per core): one BLAS thread is faster.
threadpool_limits(1)

DATA = pathlib.Path(__file__).parent / "data"


def load(name, **kwargs):
    """Load a file from tests/data (see tests/data/README.md for sources)."""
    return hs.load(DATA / name, **kwargs)


@pytest.fixture
def image():
    """A 64 x 48 Signal2D with calibrated axes and some metadata."""
    rng = np.random.default_rng(0)
    s = hs.signals.Signal2D(rng.random((64, 48)))
    s.axes_manager[0].name, s.axes_manager[1].name = "x", "y"
    s.axes_manager[0].scale = s.axes_manager[1].scale = 0.05
    s.axes_manager[0].units = s.axes_manager[1].units = "nm"
    s.metadata.General.title = "test image"
    s.original_metadata.set_item("Instrument.detector", "HAADF")
    return s


@pytest.fixture
def bcf_tem():
    """(HAADF, EDS_TEM) from the Bruker TEM file, 64 x 64 positions."""
    haadf, eds = load("test_TEM.bcf")
    return haadf, eds
