"""
Simulate and reconstruct a sub-sampled STEM scan
================================================

Before sub-sampling a real, beam-sensitive sample it helps to know what a
sub-sampled scan of it would record and how well it can be reconstructed. This
example simulates an atomic-resolution HAADF image, sub-samples it with the
scan patterns of :mod:`hyperspy_cs.patterns` at the same electron dose per
visited position, reports the time and dose saved, and reconstructs the
line-hop scan (the one most scan coils can do) with cubic interpolation and with
BPFA.
"""

# %%
# An atomic-resolution image
# --------------------------
# :func:`hyperspy_cs.data.atomic_resolution_image` draws a perovskite crystal
# along [001]: bright A-site and dimmer B-site columns. Without ``dose`` it is
# noiseless, the truth the reconstructions are scored against.
import hyperspy.api as hs
import matplotlib.pyplot as plt

import hyperspy_cs as cs

truth = cs.data.atomic_resolution_image(shape=(128, 128), lattice_spacing=12.0, seed=0)
truth.plot(colorbar=False)

# %%
# What each scan pattern records
# ------------------------------
# Every pattern visits about 15 % of the positions. ``dose=200`` gives each
# visited position 200 electrons: Poisson noise where the beam was, nothing
# elsewhere. ``line_hop`` moves along the rows with random forward hops and the
# same number of visits per row, which any scan coil can do; ``random`` visits
# a random set row by row (a position list or a fast beam blanker);
# ``jittered``, ``regular`` and ``spiral`` spread the visits more evenly.
patterns = ["random", "line_hop", "jittered", "regular", "spiral"]
scans = {p: truth.subsample(0.15, p, seed=1, dose=200) for p in patterns}
figure = plt.figure(figsize=(13, 3.2))
hs.plot.plot_images(list(scans.values()), label=patterns, per_row=5, axes_decor="off",
                    colorbar=None, scalebar=None, fig=figure, tight_layout=True)

# %%
# Time, dose and beam travel
# --------------------------
# :func:`hyperspy_cs.acquisition_report` compares a sub-sampled scan with the
# full raster: at the same dwell time per visited position it is faster and
# deposits less dose in proportion. The beam travel sums the jumps between
# consecutive visits: ``random`` and ``line_hop`` sweep the rows like the raster
# (with skips), the spiral and the regular lattice travel less.
for pattern, scan in scans.items():
    report = cs.acquisition_report(scan, dwell_time=10e-6, flyback_time=50e-6)
    print(f"{pattern:9s} {report.speedup:4.1f}x faster, beam travel {report.beam_travel:7.0f} px")
print()
print(cs.acquisition_report(scans["line_hop"], dwell_time=10e-6, flyback_time=50e-6,
                            beam_current=5e-12))

# %%
# Which pattern reconstructs best?
# --------------------------------
# :func:`hyperspy_cs.compare` sub-samples a reference with each pattern and
# scores each method's reconstruction. Cubic interpolation is quick enough to
# rank the patterns (on the noiseless truth, so only the sampling differs).
ranking = cs.compare(truth, fractions=0.15, patterns=patterns, methods=["cubic"], seed=1,
                     show_progressbar=False)
for row in ranking.rows:
    print(f"{row['pattern']:9s} PSNR {row['psnr']:5.2f} dB  SSIM {row['ssim']:.3f}")

# %%
# Reconstruct the line-hop scan
# -----------------------------
# BPFA learns a dictionary of 8 x 8 patches (about one atomic column) from the
# sub-sampled scan itself and infers the noise level. Few Gibbs sweeps keep this
# example quick; more (the default) give a cleaner result. ``uncertainty=True``
# also keeps the posterior standard deviation of every pixel.
scan = scans["line_hop"]
cubic = scan.inpaint(method="cubic")
bpfa = scan.inpaint_bpfa(patch_size=8, n_iter=30, burn_in=15, seed=2, uncertainty=True,
                         show_progressbar=False)
std = bpfa.metadata.Reconstruction.std

labels = ["truth", "15 % line-hop scan"]
for name, result in (("cubic", cubic), ("BPFA", bpfa)):
    labels.append(f"{name}: {cs.psnr(truth, result):.1f} dB")
labels.append("BPFA posterior std")
figure = plt.figure(figsize=(13, 3.4))
hs.plot.plot_images([truth, scan, cubic, bpfa, std], label=labels, per_row=5, axes_decor="off",
                    colorbar=None, scalebar=None, fig=figure, tight_layout=True)

# %%
# What is recorded with the result
# --------------------------------
# ``metadata.Reconstruction`` keeps the method, its parameters and seed, the
# estimated noise level (in the data's units; the visited pixels' noise is
# about ``sqrt(u / 200)``), the atoms used and the runtime, so that the
# reconstruction can be reproduced and reported.
record = bpfa.metadata.Reconstruction
print(f"{record.method}, seed {record.seed}, patch size {record.parameters.patch_size}, "
      f"{record.atoms_used} atoms used, noise std {record.noise_std:.3f}, "
      f"{record.runtime:.1f} s")
