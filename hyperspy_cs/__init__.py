"""hyperspy-cs: compressive (sub-sampled) scanning electron microscopy for HyperSpy.

``import hyperspy_cs`` adds the signal operations below to every HyperSpy signal
as methods (``s.subsample(...)``, ``s.inpaint_bpfa(...)``); each is also a plain
function (``hyperspy_cs.subsample(s, ...)``).

The package is laid out by job:

====================  ==============================================================
``patterns``          scan patterns: which positions a probe visits, in what order
``_subsample``        :func:`subsample`: simulate the scan a microscope would record
``_frames``           :func:`merge_frames`: frames of one area into one scan
``_metadata``         the metadata contract (``metadata.Acquisition.Subsampling``...)
``_report``           :func:`acquisition_report`: time and dose saved
``_reconstruct``      what every reconstruction method shares (mask rules, output)
``_layers``           spectral layers of a spectrum image (PCA, X-ray lines)
``_guide``            the fully sampled guide image (BSE, HAADF)
``bpfa``              the BPFA engine and its HyperSpy layer (eager and lazy)
``classical``         the methods the field compares against
``_inpaint``          :func:`inpaint`: one entry point for every method
``_compare``          :func:`compare`: methods against a reference
``metrics``           PSNR, SSIM, SRE, split-half references for counts
``adaptive``          targeted sampling and live reconstruction at the microscope
``io``                vendor files, real sub-sampled scans, compact storage
``data``              realistic synthetic images and spectrum images
``cli``               the ``hyperspy-cs`` command line
====================  ==============================================================

Submodules and functions are imported on first use (``lazy_loader``, as in
scikit-image), so ``import hyperspy_cs`` stays quick and quiet.
"""

from importlib.metadata import PackageNotFoundError, version

import lazy_loader as _lazy

from ._registration import register as _register

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["adaptive", "data", "io", "metrics", "patterns"],
    submod_attrs={
        "adaptive._live": ["LiveReconstruction"],
        "adaptive._simulate": ["simulate_adaptive"],
        "_compare": ["Comparison", "compare"],
        "_frames": ["merge_frames"],
        "_guide": ["resample_guide"],
        "_inpaint": ["inpaint"],
        "_metadata": ["get_mask", "get_order"],
        "_report": ["AcquisitionReport", "acquisition_report"],
        "_subsample": ["subsample"],
        "bpfa": ["BPFADictionary", "get_dictionary", "inpaint_bpfa", "inpaint_bpfa3d"],
        "io": ["from_mask", "from_positions", "load_acquisition", "load_compact",
               "read_scan_positions", "save_compact"],
        "metrics": ["psnr", "split_counts", "sre", "ssim"],
    },
)

try:
    __version__ = version("hyperspy-cs")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_register(["subsample", "merge_frames", "get_mask", "get_order", "acquisition_report", "split_counts",
           "inpaint", "inpaint_bpfa", "inpaint_bpfa3d", "simulate_adaptive"])
