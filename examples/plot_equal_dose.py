"""
Equal dose: fewer positions or a shorter dwell?
===============================================

A dose budget can be spent in two ways: visit every position with a fraction
``f`` of the dose (a shorter dwell, then denoise), or visit a fraction ``f`` of
the positions at the full dose (then inpaint). Both deposit the same total dose.
This example compares the two with the same BPFA model, first on an image, then
on EDS counts.
"""

# %%
# An image
# --------
# ``subsample(1.0, dose=f * D)`` visits every position with ``f * D`` electrons;
# ``subsample(f, dose=D)`` visits ``f`` of them with ``D``. BPFA denoises the
# first (every position counts as measured) and inpaints the second, with the
# same options; a small dictionary (64 atoms) and few sweeps keep it quick.
import hyperspy.api as hs
import matplotlib.pyplot as plt

import hyperspy_cs as cs

fraction, dose = 0.2, 100.0
truth = cs.data.atomic_resolution_image(shape=(80, 80), lattice_spacing=12.0, seed=0)
short_dwell = truth.subsample(1.0, dose=fraction * dose, seed=1)
fewer_positions = truth.subsample(fraction, "line_hop", dose=dose, seed=1)

options = {"patch_size": 8, "n_atoms": 64, "n_iter": 24, "burn_in": 12, "seed": 2,
           "show_progressbar": False}
denoised = short_dwell.inpaint_bpfa(**options)
inpainted = fewer_positions.inpaint_bpfa(**options)

images = [truth, short_dwell, denoised, fewer_positions, inpainted]
labels = ["truth", f"100 % at {fraction * dose:g} e-/px", "BPFA, denoised",
          f"{100 * fraction:g} % at {dose:g} e-/px", "BPFA, inpainted"]
labels = [label if i in (0, 3) else f"{label}\n{cs.psnr(truth, image):.1f} dB"
          for i, (label, image) in enumerate(zip(labels, images))]
figure = plt.figure(figsize=(13, 3.8))
hs.plot.plot_images(images, label=labels, per_row=5, axes_decor="off", colorbar=None,
                    scalebar=None, fig=figure, tight_layout=True)
for name, result in (("denoised", denoised), ("inpainted", inpainted)):
    print(f"image, {name}: {cs.psnr(truth, result):.1f} dB")

# %%
# EDS counts
# ----------
# For counts, a shorter dwell is simulated without a model of the sample:
# binomial thinning keeps each recorded X-ray with probability ``f``
# (:func:`hyperspy_cs.split_counts`), exactly what a dwell ``f`` times shorter
# records. The reconstructions of the thinned map are scaled back by ``1 / f``
# and both are scored on the element maps of the noiseless truth.
si, bse, truth = cs.data.eds_spectrum_image(shape=(40, 40), counts_per_pixel=400, seed=3,
                                            return_truth=True)
thinned, _ = cs.split_counts(si, fraction=fraction, seed=4)
sparse = si.subsample(fraction, "line_hop", seed=4)

options = {"patch_size": 6, "n_atoms": 64, "n_iter": 20, "burn_in": 10, "seed": 5,
           "show_progressbar": False}
denoised = thinned.inpaint_bpfa3d(guide=bse, **options) / fraction
inpainted = sparse.inpaint_bpfa3d(guide=bse, **options)

lines = si.metadata.Sample.xray_lines
reference = truth.spectrum_image.get_lines_intensity()
for name, result in ((f"EDS, 100 % of positions at {fraction:g} of the dwell", denoised),
                     (f"EDS, {100 * fraction:g} % of positions at the full dwell", inpainted)):
    scores = [cs.psnr(r, m) for r, m in zip(reference, result.get_lines_intensity())]
    print(f"{name}: " + ", ".join(f"{line} {s:.1f} dB" for line, s in zip(lines, scores)))

# %%
# Which wins depends on the dose and the sample: inpainting relies on
# neighbouring positions looking alike (patches the dictionary knows), denoising
# on enough counts per position for the noise model. Run both on a simulation of
# your sample at your dose before choosing.
