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

from ._compact import load_compact, save_compact
from ._positions import from_mask, from_positions, read_scan_positions
from ._vendor import load_acquisition

__all__ = ["from_mask", "from_positions", "load_acquisition", "load_compact",
           "read_scan_positions", "save_compact"]
