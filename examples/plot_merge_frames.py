"""
Frames of one area: merge them, then reconstruct
================================================

Dose fractionation spreads a dose over several fast frames, each visiting its
own sparse positions. Reconstructed one by one and averaged, every frame is as
sparse as it was scanned; merged into one scan first
(:func:`hyperspy_cs.merge_frames`), every patch sees the positions of all of
them. This example compares the two on a simulated crystal: four jittered
frames of 6.25 % each, 10 electrons per visited position.
"""

# %%
# Four sparse, noisy frames
# -------------------------
# ``subsample(frames=4)`` gives each frame its own positions and its own Poisson
# noise; the result is a stack with a ``frame`` navigation axis.
import hyperspy.api as hs
import matplotlib.pyplot as plt

import hyperspy_cs as cs

truth = cs.data.atomic_resolution_image(shape=(96, 96), lattice_spacing=12.0, seed=0)
frames = truth.subsample(0.0625, "jittered", dose=10, frames=4, seed=1)

# %%
# Merged against averaged
# -----------------------
# The same options for both; few sweeps keep the example quick. The merged scan
# keeps each position's first visit (here some positions had only one), so its
# values are still counts of 10 electrons and keep their Poisson likelihood.
options = {"n_iter": 20, "seed": 2, "show_progressbar": False}
averaged = frames.inpaint_bpfa(**options).mean(axis="frame")
merged = frames.merge_frames()
reconstructed = merged.inpaint_bpfa(**options)

node = merged.metadata.Acquisition.Subsampling
print(f"merged: {node.fraction:.1%} of the positions, {node.visits_dropped} repeated "
      "visits dropped")
images = [truth, frames.inav[0].deepcopy(), averaged, reconstructed]
labels = ["truth", "one frame (6.25 %)",
          f"frames reconstructed, averaged\n{cs.psnr(truth, averaged):.1f} dB",
          f"merged, reconstructed\n{cs.psnr(truth, reconstructed):.1f} dB"]
figure = plt.figure(figsize=(11, 3.6))
hs.plot.plot_images(images, label=labels, per_row=4, axes_decor="off", colorbar=None,
                    scalebar=None, fig=figure, tight_layout=True)
for label, image in zip(labels[2:], images[2:]):
    print(label.replace("\n", ": "))

# %%
# Merging assumes the frames show the same area at the same positions: correct
# the drift between them first. A time series, whose frames differ, is
# reconstructed as a stack instead (``frames.inpaint_bpfa()``: one dictionary,
# one reconstruction per frame).
