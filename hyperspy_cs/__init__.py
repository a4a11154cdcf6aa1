"""hyperspy-cs: compressive (sub-sampled) scanning electron microscopy for HyperSpy.

``import hyperspy_cs`` adds the operations below to every HyperSpy signal as
methods (``s.subsample(...)``); each is also a plain function
(``hyperspy_cs.subsample(s, ...)``).
"""

from importlib.metadata import PackageNotFoundError, version

from . import patterns
from ._methods import register as _register
from .dictionary import BPFADictionary
from .subsample import AcquisitionReport, acquisition_report, get_mask, get_order, subsample

try:
    __version__ = version("hyperspy-cs")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "AcquisitionReport",
    "BPFADictionary",
    "acquisition_report",
    "get_mask",
    "get_order",
    "patterns",
    "subsample",
]

_register([subsample, get_mask, get_order, acquisition_report])
