"""hyperspy-cs: compressive (sub-sampled) scanning electron microscopy for HyperSpy.

``import hyperspy_cs`` adds the signal operations below to every HyperSpy signal
as methods (``s.subsample(...)``, ``s.inpaint_bpfa(...)``); each is also a plain
function (``hyperspy_cs.subsample(s, ...)``).
"""

from importlib.metadata import PackageNotFoundError, version

from . import data, layers, metrics, patterns
from ._methods import register as _register
from .bpfa import get_dictionary, inpaint_bpfa, inpaint_bpfa3d
from .compare import Comparison, compare
from .dictionary import BPFADictionary
from .guide import resample_guide
from .inpaint import inpaint
from .io import (
    from_mask,
    from_positions,
    load_acquisition,
    load_compact,
    read_scan_positions,
    save_compact,
)
from .metrics import psnr, split_counts, sre, ssim
from .subsample import AcquisitionReport, acquisition_report, get_mask, get_order, subsample

try:
    __version__ = version("hyperspy-cs")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "AcquisitionReport",
    "BPFADictionary",
    "Comparison",
    "acquisition_report",
    "compare",
    "data",
    "from_mask",
    "from_positions",
    "get_dictionary",
    "get_mask",
    "get_order",
    "inpaint",
    "inpaint_bpfa",
    "inpaint_bpfa3d",
    "layers",
    "load_acquisition",
    "load_compact",
    "metrics",
    "patterns",
    "psnr",
    "read_scan_positions",
    "resample_guide",
    "save_compact",
    "split_counts",
    "sre",
    "ssim",
    "subsample",
]

_register([subsample, get_mask, get_order, acquisition_report, split_counts, inpaint,
           inpaint_bpfa, inpaint_bpfa3d])
