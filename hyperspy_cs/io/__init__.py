"""Files in and out: vendor files, real sub-sampled acquisitions, compact storage.

=================  ===============================================================
``_vendor``        :func:`load_acquisition`: a vendor file's spectrum image and the
                   guide image recorded with it
``_positions``     :func:`from_positions`, :func:`from_mask`,
                   :func:`read_scan_positions`: custom scans of real instruments
``_compact``       :func:`save_compact`, :func:`load_compact`: only the visited
                   spectra, in a file plain HyperSpy reads
``_files``         reading files with errors that name them
=================  ===============================================================
"""

import lazy_loader as _lazy

# Loaded on first use: the CLI reads a file's errors without importing dask.
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_compact": ["load_compact", "save_compact"],
        "_positions": ["from_mask", "from_positions", "read_scan_positions"],
        "_vendor": ["load_acquisition"],
    },
)
