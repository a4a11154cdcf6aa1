"""Parameter descriptions shared by several public functions, in one wording.

A docstring line that holds only ``%(name)s`` is replaced by the snippet
``name``, indented like the line (``fill_doc``), as HyperSpy and MNE do.
"""

import re

SNIPPETS = {
    "n_atoms": """\
n_atoms : int, optional
    Dictionary size ``K``: by default 128, or the size of ``dictionary``.""",
    "sweeps": """\
n_iter, burn_in : int, optional
    Gibbs sweeps in all and sweeps discarded before averaging: by default 40
    and half of ``n_iter``. The burn-in is tempered (the noise precision is
    capped while it lasts); clean images gain from a longer one, see the
    user guide.""",
    "patch_stride": """\
patch_stride : int
    Pixels between the corners of neighbouring patches: 1 (the default)
    codes every overlapping patch; 2 a quarter of them, a quick look in
    0.3-0.6 of the time at up to 0.34 dB less (user guide, "Atoms, iterations
    and patches"). At most ``patch_size``; the last row and column of
    patches always reach the scan's edges.""",
    "step": """\
step : int
    Average every ``step``-th sweep after the burn-in (thinning: a little
    faster, as the estimate is formed only for the averaged sweeps).""",
    "dictionary": """\
dictionary : BPFADictionary or numpy.ndarray, optional
    A dictionary learned before (``get_dictionary(result)``): it seeds
    learning, or with ``learn_dictionary=False`` is used as it is (sparse
    coding only, much faster). Its atoms set the patch size.
learn_dictionary : bool
    Whether the dictionary is learned.""",
    "mask": """\
mask : numpy.ndarray of bool, optional
    Visited positions ``(rows, cols)`` in numpy order (one mask per frame
    for a stack), True = visited. Default:
    ``metadata.Acquisition.Subsampling.sampled``; with neither, every
    position counts as acquired and the data are denoised.""",
    "seed": """\
seed : None, int or numpy.random.Generator
    Seed of every random choice; the integer used is stored with the result,
    so that it can be reproduced.""",
    "uncertainty": """\
uncertainty : bool
    Also compute the posterior standard deviation, stored as a signal in
    ``metadata.Reconstruction.std``.""",
    "show_progressbar": """\
show_progressbar : bool, optional
    Default: HyperSpy's preference.""",
    "lazy_output": """\
lazy_output : bool, optional
    None: a lazy result for a lazy input; True or False force it.""",
    "lazy_options": """\
tile_size : int, optional
    Lazy results only: side of the tiles in pixels (at least
    ``patch_size``). Default: 512 for images; for spectrum images the size
    whose float32 spectra fit in 64 MiB (128 at 1024 channels), 64 to 512.
learning_positions : int
    Lazy results only: most scan positions the learning pass reads.""",
}

_PLACEHOLDER = re.compile(r"^( *)%\((\w+)\)s$", re.MULTILINE)


def fill_doc(function):
    """Replace the ``%(name)s`` lines of ``function.__doc__`` by their snippets."""

    def snippet(match):
        indent, name = match.groups()
        return "\n".join(indent + line if line else line
                         for line in SNIPPETS[name].splitlines())

    function.__doc__ = _PLACEHOLDER.sub(snippet, function.__doc__)
    return function
