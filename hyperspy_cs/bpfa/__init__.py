"""Beta-Process Factor Analysis: the package's reconstruction engine.

One engine for every case: an image is the ``N = 1`` case of ``b x b x N``
patches, a lazy result is tiles of the eager one, and a transferred dictionary is
a fixed ``D`` in the same sampler.

=====================  ==========================================================
``_inpaint``           the HyperSpy layer: ``inpaint_bpfa``, ``inpaint_bpfa3d``,
                       ``get_dictionary`` (masks, guide, spectral layers, metadata)
``_engine``            the Gibbs sampler on ``(F, R, C, N)`` arrays
``_backend``           where the arithmetic runs: the backend interface, the CPU backend
``_kernels``           the CPU backend's numba kernels (counter-based random numbers)
``_lazy``              lazy results: streaming layer fit, learning pass, seamless tiles
``dictionary``         :class:`BPFADictionary`, the learned atoms as a HyperSpy signal
=====================  ==========================================================
"""

from ._inpaint import get_dictionary, inpaint_bpfa, inpaint_bpfa3d
from .dictionary import BPFADictionary, LazyBPFADictionary

__all__ = ["BPFADictionary", "LazyBPFADictionary", "get_dictionary", "inpaint_bpfa",
           "inpaint_bpfa3d"]
