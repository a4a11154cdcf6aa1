"""
Large maps: lazy sub-sampling and storage
=========================================

HyperSpy handles data larger than memory lazily, with dask: operations build a
task graph and blocks are read, computed and written one at a time. This
example follows a larger EDS map through the steps that stay lazy (loading,
sub-sampling, saving, compact storage), reconstructs it into a lazy result and
stores that once, so that the element maps are read from disk.
"""

# %%
# A larger map, written to disk block by block
# --------------------------------------------
# :func:`hyperspy_cs.data.eds_spectrum_image` with ``lazy=True`` generates the
# counts in blocks of scan rows; saving to ``.zspy`` (a zarr folder) computes
# and writes one block at a time, so the map never sits in memory whole.
import pathlib
import shutil
import tempfile

import hyperspy.api as hs
import matplotlib.pyplot as plt
import numpy as np

import hyperspy_cs as cs

# Progress bars of every lazy computation would drown the output of this page;
# the .zspy writer shows its own unless told not to (``QUIET``).
hs.preferences.General.show_progressbar = False
QUIET = {"show_progressbar": False}


def size_mb(path):
    """Bytes under a .zspy folder (or in a file), in MB."""
    path = pathlib.Path(path)
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


folder = pathlib.Path(tempfile.mkdtemp())
si, bse = cs.data.eds_spectrum_image(shape=(192, 192), n_channels=1024, counts_per_pixel=100,
                                     seed=0, lazy=True)
si.save(folder / "map.zspy", **QUIET)
bse.save(folder / "map_bse.hspy")
print(f"{si}: {si.data.nbytes / 1e6:.0f} MB in memory, "
      f"{size_mb(folder / 'map.zspy'):.0f} MB compressed on disk")

# %%
# Load lazily and sub-sample
# --------------------------
# ``hs.load(..., lazy=True)`` reads nothing yet. :func:`hyperspy_cs.subsample`
# on a lazy signal returns a lazy signal (``lazy_output=None`` follows the
# input): the mask is drawn now, the data are masked when computed.
# :func:`hyperspy_cs.load_acquisition` takes ``lazy=True`` too. (A lazy Bruker
# ``.bcf`` is decoded in one block, so it gains little; Velox ``.emd`` files
# come chunked along energy, which ``load_acquisition`` rechunks to whole
# spectra.)
lazy_map = hs.load(folder / "map.zspy", lazy=True)
sub = lazy_map.subsample(0.1, "line_hop", seed=1)
print(sub)
print(sub.data)
print(f"{100 * cs.get_mask(sub).mean():.1f} % of positions visited")

# %%
# Store it, lazily
# ----------------
# Saving the zero-filled map writes it chunk by chunk. The compact form
# (:func:`hyperspy_cs.save_compact`) stores only the visited spectra, what an
# instrument that sub-samples would record; :func:`hyperspy_cs.load_compact`
# with ``lazy=True`` rebuilds the zero-filled map lazily, each chunk reading only
# the spectra that fall into it.
sub.save(folder / "map_10.zspy", **QUIET)
cs.save_compact(sub, folder / "map_10_compact.zspy", **QUIET)
for name in ("map.zspy", "map_10.zspy", "map_10_compact.zspy"):
    print(f"{name:22s} {size_mb(folder / name):6.1f} MB")
restored = cs.load_compact(folder / "map_10_compact.zspy", lazy=True)
print(restored)

# %%
# Reconstruct
# -----------
# ``inpaint_bpfa3d`` works on a few spectral layers (here PCA scores) rather
# than on the 1024 channels and rebuilds the spectra at the end. With
# ``lazy_output=True`` (the default ``None`` follows the input) the result is a
# lazy signal and the call only builds a Dask graph: a streaming pass fits the
# PCA on the whole map, a learning pass learns the dictionary on a bounded set of
# positions, and the map is reconstructed tile by tile with that dictionary
# (seamless tiles, bounded memory). The guide is an ordinary image.
guide = hs.load(folder / "map_bse.hspy")
rec = restored.inpaint_bpfa3d(guide=guide, patch_size=6, n_iter=20, burn_in=10, step=2,
                              seed=2, show_progressbar=False, lazy_output=True)
print(rec, "lazy:", rec._lazy)

# %%
# :func:`hyperspy_cs.get_dictionary` runs the streaming and learning passes
# alone (not the tiles) and records what they found in
# ``metadata.Reconstruction``; the result keeps it, so that saving does not run
# them again and writes the dictionary into the file.
dictionary = cs.get_dictionary(rec)
print(f"layers {rec.metadata.Reconstruction.layer_names}; "
      f"{rec.metadata.Reconstruction.atoms_used} atoms used")

# %%
# Store the result once, then work from the file
# ----------------------------------------------
# Every ``compute`` of a lazy signal evaluates its task graph again, and for a
# reconstruction that graph holds the reconstruction. Saving it to ``.zspy``
# evaluates it once, chunk by chunk, with its record in
# ``metadata.Reconstruction``; reading the file back lazily makes everything
# after that cheap.
rec.save(folder / "map_10_bpfa.zspy", **QUIET)
stored = hs.load(folder / "map_10_bpfa.zspy", lazy=True)
print(f"map_10_bpfa.zspy {size_mb(folder / 'map_10_bpfa.zspy'):.1f} MB; "
      f"data type {np.dtype(stored.data.dtype)}; method {stored.metadata.Reconstruction.method}")

# %%
# Element maps from the stored reconstruction, next to the zero-filled scan:
maps = [m.T for m in stored.get_lines_intensity()]
scan_maps = [m.T for m in restored.get_lines_intensity()]
for m in maps + scan_maps:
    m.compute()
lines = stored.metadata.Sample.xray_lines
labels = [f"10 % scan: {line}" for line in lines] + [f"BPFA: {line}" for line in lines]
figure = plt.figure(figsize=(12, 5.6))
hs.plot.plot_images(scan_maps + maps, label=labels, per_row=len(lines), axes_decor="off",
                    colorbar=None, scalebar=None, fig=figure, tight_layout=True)

# %%
# The files of this example were temporary:
shutil.rmtree(folder)
