"""
Transfer a dictionary from a simulation to a real image
=======================================================

BPFA learns its dictionary from the sub-sampled data, which costs a good part of
its time. A dictionary learned once (on a better acquisition, a simulation, or a
library of earlier results) can be reused: with ``learn_dictionary=False`` the
sampler only finds each patch's sparse code, which is faster. Here a dictionary
learned on a simulated perovskite image reconstructs a real atomic-resolution
ADF image of SrTiO3.
"""

# %%
# The real image
# --------------
# An ADF image of SrTiO3 from the atomap test data (HyperSpy-written ``.hdf5``
# files need ``file_format="HSPY"``). Its columns are about 21 pixels apart
# along x and 28 along y, with a standard deviation of about 4 pixels. A crop
# keeps the example quick.
import pathlib

import hyperspy.api as hs
import matplotlib.pyplot as plt

import hyperspy_cs as cs

try:
    EXAMPLES = pathlib.Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs the examples from their folder, without __file__
    EXAMPLES = pathlib.Path.cwd()
DATA = EXAMPLES.parent / "tests" / "data"

real = hs.load(DATA / "SrTiO3_ADF_cropped.hdf5", file_format="HSPY").isig[:128, :128]
real.change_dtype("float32")  # stored as float16
real.metadata.General.title = "SrTiO3 ADF"
scan = real.subsample(0.2, "line_hop", seed=0)

# %%
# Learn a dictionary on a simulation
# ----------------------------------
# A simulated perovskite with columns of the same size and spacing, fully
# sampled and noisy: with no mask BPFA denoises it, and its dictionary holds the
# shapes of atomic columns. The patch size (8 pixels) is about one column; 64
# atoms are plenty for a crystal with two kinds of column.
simulated = cs.data.atomic_resolution_image(shape=(80, 80), lattice_spacing=28.0,
                                            column_sigma=4.0, dose=100, seed=1)
learned_on_simulation = simulated.inpaint_bpfa(patch_size=8, n_atoms=64, n_iter=20,
                                               burn_in=10, seed=2, show_progressbar=False)
dictionary = cs.get_dictionary(learned_on_simulation)
print(dictionary)
dictionary.plot_atoms(n_atoms=32)

# %%
# Reconstruct the real scan with the fixed dictionary
# ---------------------------------------------------
# The patch size must be the dictionary's. For comparison, the
# same scan is also reconstructed by learning a dictionary from it.
fixed = scan.inpaint_bpfa(dictionary=dictionary, learn_dictionary=False, patch_size=8,
                          n_iter=20, burn_in=10, seed=3, show_progressbar=False)
learned = scan.inpaint_bpfa(patch_size=8, n_atoms=64, n_iter=20, burn_in=10, seed=3,
                            show_progressbar=False)

labels = ["fully sampled", "20 % line-hop scan"]
for name, result in (("transferred", fixed), ("learned", learned)):
    labels.append(f"{name}: {cs.psnr(real, result):.1f} dB, "
                  f"{result.metadata.Reconstruction.runtime:.1f} s")
figure = plt.figure(figsize=(12, 3.6))
hs.plot.plot_images([real, scan, fixed, learned], label=labels, per_row=4, axes_decor="off",
                    colorbar=None, scalebar=None, fig=figure, tight_layout=True)

# %%
# Timing
# ------
# Sparse coding with a fixed dictionary skips the dictionary update, which
# saves about a third of each sweep here. A dictionary is a HyperSpy signal
# (:class:`hyperspy_cs.BPFADictionary`): ``dictionary.save("atoms.hspy")`` keeps
# it for the next session, and ``hs.load`` gives it back.
for name, result in (("fixed (transferred)", fixed), ("learned", learned)):
    record = result.metadata.Reconstruction
    print(f"{name:20s} {record.runtime:5.1f} s, PSNR {cs.psnr(real, result):5.2f} dB")
