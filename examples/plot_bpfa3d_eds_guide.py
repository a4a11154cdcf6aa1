"""
Guided 3-D BPFA of an SEM-EDS map
=================================

An EDS map is slow: each pixel needs a long dwell to collect enough X-rays,
while the backscattered-electron (BSE) image of the same area is recorded at
full sampling in a fraction of the time. This example sub-samples the EDS map of
a granitoid rock (Bruker Esprit, 20 kV, 100 x 75 pixels x 4096 channels) to
20 % of its positions, keeps the BSE image fully sampled, and reconstructs the
map with 3-D BPFA: patches of ``b x b x N`` that span the BSE guide and the
spectral layers, so that the guide's grain boundaries steer where the element
maps change.
"""

# %%
# Read the map and its guide
# --------------------------
# :func:`hyperspy_cs.load_acquisition` reads any RosettaSciIO file and returns
# the spectrum image with the fully sampled image recorded on the same scan
# (HAADF, BSE...), here the BSE image.
import pathlib

import hyperspy.api as hs
import matplotlib.pyplot as plt

import hyperspy_cs as cs

# The data ship with the repository, next to the tests.
try:
    EXAMPLES = pathlib.Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs the examples from their folder, without __file__
    EXAMPLES = pathlib.Path.cwd()
DATA = EXAMPLES.parent / "tests" / "data"

si, bse = cs.load_acquisition(DATA / "granite_P45_sem.bcf")
print(si)
print(bse)
print("elements:", si.metadata.Sample.elements)

# %%
# An honest reference
# -------------------
# The full map is noisy itself (about 600 counts per pixel over 4096 channels),
# so scoring a reconstruction against it would reward reproducing its noise.
# :func:`hyperspy_cs.split_counts` splits the counts into two independent halves
# by binomial thinning: half ``a`` is sub-sampled and reconstructed, half ``b``
# is the reference. This ranks methods as a comparison with the unknown truth
# would.
half_a, half_b = cs.split_counts(si, seed=0)

# %%
# A 20 % line-hop scan
# --------------------
# Only the EDS map is sub-sampled: the BSE image comes with every position. At,
# say, 5 ms per EDS pixel the map takes a fifth of the time.
sub = half_a.subsample(0.2, "line_hop", seed=0)
print(cs.acquisition_report(sub, dwell_time=5e-3))

# %%
# Reconstruct
# -----------
# The spectra are reconstructed through spectral layers stacked under the BSE
# guide. ``layers="lines"`` makes each element's X-ray line intensity a layer,
# so minor elements keep their own maps (a few PCA scores, the default, are
# dominated by the major phases), and the full spectra are rebuilt from the
# layers. Cubic interpolation of the same layers, without the guide, is the
# baseline. 30 sweeps keep the example quick; the defaults give a cleaner
# result.
bpfa = sub.inpaint_bpfa3d(guide=bse, layers="lines", patch_size=6, n_iter=30, burn_in=15,
                          seed=1, show_progressbar=False)
cubic = sub.inpaint(method="cubic", layers="lines")
record = bpfa.metadata.Reconstruction
print(f"{record.method}: {record.runtime:.1f} s")

# %%
# The reconstructed layers, the guide first:
figure = plt.figure(figsize=(12, 4.6))
hs.plot.plot_images(record.layers, label=record.layer_names, per_row=6, axes_decor="off",
                    colorbar=None, scalebar=None, fig=figure, tight_layout=True)

# %%
# Element maps
# ------------
# exspy's ``get_lines_intensity`` works on a reconstruction as on any EDS map.
# Rows: the reference half, the sub-sampled half (zero where the beam did not
# go), cubic interpolation and guided BPFA.
lines = ["Si_Ka", "K_Ka", "Ca_Ka", "Fe_Ka"]
rows = {"half b": half_b, "20 % of half a": sub, "cubic": cubic, "BPFA + BSE": bpfa}
maps, labels = [], []
for name, signal in rows.items():
    for line_map in signal.get_lines_intensity(xray_lines=lines):
        maps.append(line_map.T)
        labels.append(f"{name}: {line_map.metadata.Sample.xray_lines[0]}")
figure = plt.figure(figsize=(11, 9.5))
hs.plot.plot_images(maps, label=labels, per_row=len(lines), axes_decor="off", colorbar=None,
                    scalebar=None, fig=figure, tight_layout=True)

# %%
# Scores
# ------
# PSNR of each reconstructed line map against the same map of half ``b``. Half
# ``b`` keeps its own Poisson noise, so the numbers are lower than against the
# truth would be, but they rank the methods fairly.
reference = half_b.get_lines_intensity(xray_lines=lines)
for name, signal in (("cubic", cubic), ("BPFA", bpfa)):
    estimate = signal.get_lines_intensity(xray_lines=lines)
    scores = [cs.psnr(r, e) for r, e in zip(reference, estimate)]
    print(f"{name:5s} " + "  ".join(f"{line} {s:5.1f} dB" for line, s in zip(lines, scores)))
