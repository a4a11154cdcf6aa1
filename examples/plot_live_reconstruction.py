"""
Follow a scan as it runs: live reconstruction and a targeted replay
===================================================================

At 10 % sampling a fast scan delivers a new set of positions every fraction of a
second. To steer the instrument (focus, drift, damage) the picture should follow
the scan, not arrive minutes after it. With a dictionary learned before (here on
a first sub-sampled frame of the same area), :class:`hyperspy_cs.LiveReconstruction`
updates its estimate from each new batch of positions by sparse coding alone, and
only for the patches that see a new position.

The second half of the example replays the same image as a *targeted* scan
(:func:`hyperspy_cs.simulate_adaptive`): a sparse first pass, then batches
placed where the measured values vary most, far from what was measured.
"""

# %%
# A dictionary from a first frame
# -------------------------------
# An ADF image of SrTiO3 (atomap test data), cropped to keep the example quick.
import pathlib
import time

import hyperspy.api as hs
import matplotlib.pyplot as plt
import numpy as np

import hyperspy_cs as cs

try:
    EXAMPLES = pathlib.Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs the examples from their folder, without __file__
    EXAMPLES = pathlib.Path.cwd()
DATA = EXAMPLES.parent / "tests" / "data"

image = hs.load(DATA / "SrTiO3_ADF_cropped.hdf5", file_format="HSPY").isig[:128, :128]
image.change_dtype("float32")  # stored as float16
image.metadata.General.title = "SrTiO3 ADF"
first = cs.inpaint_bpfa(image.subsample(0.1, seed=1), seed=0, show_progressbar=False)
dictionary = cs.get_dictionary(first)

# %%
# Replay a second scan in its acquisition order
# ---------------------------------------------
# A random 10 % pattern, visited row by row as a scan generator does, arrives in
# updates of 1 % of the frame. Each update redraws the codes of the patches that
# see a new position only.
scan = image.subsample(0.1, seed=2)
order = np.sort(cs.get_order(scan))
values = image.data.reshape(-1)
live = cs.LiveReconstruction(image.data.shape, dictionary, seed=0)
step = image.data.size // 100
snapshots, seconds = {}, []
for start in range(0, order.size, step):
    part = order[start:start + step]
    live.update(part, values[part])
    seconds.append(live.last_update_seconds)
    done = (start + part.size) / order.size
    for share in (0.3, 0.6):
        if share not in snapshots and done >= share:
            snapshots[share] = live.estimate.copy()
live.refine()
snapshots[1.0] = live.estimate.copy()
print(f"{len(seconds)} updates, median {np.median(seconds):.3f} s each")

fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
for ax, (share, picture) in zip(axes, snapshots.items()):
    ax.imshow(picture, cmap="gray")
    ax.set_title(f"{100 * share:.0f} % of the scan in")
    ax.set_axis_off()
fig.tight_layout()

# %%
# For a live plot, redraw an ``imshow`` after each update
# (``artist.set_data(live.estimate); fig.canvas.draw_idle()``); ``live.std`` is
# the spread of the code draws, ``live.to_signal(like=image)`` a HyperSpy signal
# with the acquisition so far in its metadata. Once the scan is complete the
# live picture is close to the batch reconstruction with the same dictionary:
batch = cs.inpaint_bpfa(scan, dictionary=dictionary, learn_dictionary=False, seed=0,
                        show_progressbar=False)
print(f"live {cs.psnr(image, live.to_signal(like=image)):.2f} dB, "
      f"batch {cs.psnr(image, batch):.2f} dB")

# %%
# What a targeted scan would have given
# -------------------------------------
# The same 10 % of positions, half of them in a jittered first pass and the rest
# in four batches chosen by the ``distance_variation`` criterion (no
# reconstruction needed between batches), against a jittered scan of the same
# dose, both reconstructed by BPFA.
start = time.perf_counter()
targeted, result = cs.simulate_adaptive(image, 0.1, criterion="distance_variation", seed=0,
                                        show_progressbar=False)
jittered = cs.inpaint_bpfa(image.subsample(0.1, "jittered", seed=0), seed=0,
                           show_progressbar=False)
print(f"targeted {cs.psnr(image, result):.2f} dB, jittered {cs.psnr(image, jittered):.2f} dB "
      f"({time.perf_counter() - start:.0f} s)")

fig, axes = plt.subplots(1, 2, figsize=(6.5, 3.2))
axes[0].imshow(cs.get_mask(targeted), cmap="gray")
axes[0].set_title("targeted positions")
axes[1].imshow(result.data, cmap="gray")
axes[1].set_title("its reconstruction")
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()
plt.show()
