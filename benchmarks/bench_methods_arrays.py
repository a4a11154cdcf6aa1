"""PSNR, SSIM and run time of the array-level classical methods on real SrTiO3 data.

The 256 x 256 top-left crop of the SrTiO3 ADF image in ``tests/data`` (normalised to
[0, 1]) is sub-sampled uniformly at random (exactly round(f n) positions, fixed seed)
and reconstructed by every method with its defaults. Prints a Markdown table.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_methods_arrays.py [--fractions 0.1 0.2] [--seed 0]
"""

import argparse
import pathlib
import time
import warnings

import hyperspy.api as hs
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from hyperspy_cs.classical._fourier import fourier_global, fourier_lowpass
from hyperspy_cs.classical._interpolate import interpolate
from hyperspy_cs.classical._ksvd import ksvd
from hyperspy_cs.classical._nonlocal import nonlocal_means
from hyperspy_cs.classical._pnp import pnp

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"

METHODS = {
    "nearest": lambda d, m, seed: interpolate(d, m, kind="nearest"),
    "linear": lambda d, m, seed: interpolate(d, m, kind="linear"),
    "cubic": lambda d, m, seed: interpolate(d, m, kind="cubic"),
    "biharmonic": lambda d, m, seed: interpolate(d, m, kind="biharmonic"),
    "ksvd": lambda d, m, seed: ksvd(d, m, seed=seed),
    "fourier_lowpass": lambda d, m, seed: fourier_lowpass(d, m),
    "fourier_global": lambda d, m, seed: fourier_global(d, m),
    "nonlocal (cubic)": lambda d, m, seed: nonlocal_means(d, m),
    "pnp nl_means": lambda d, m, seed: pnp(d, m),
    "pnp nl_means equivariant": lambda d, m, seed: pnp(d, m, equivariant=True),
    "pnp tv": lambda d, m, seed: pnp(d, m, denoiser="tv"),
    "pnp tv equivariant": lambda d, m, seed: pnp(d, m, denoiser="tv", equivariant=True),
}


def srtio3(size=256):
    image = hs.load(DATA / "SrTiO3_ADF_cropped.hdf5", file_format="HSPY").data[:size, :size]
    image = image.astype(np.float64)
    return (image - image.min()) / (image.max() - image.min())


def sampled(shape, fraction, seed):
    size = int(np.prod(shape))
    mask = np.zeros(size, dtype=bool)
    mask[np.random.default_rng(seed).choice(size, round(fraction * size), replace=False)] = True
    return mask.reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    image = srtio3()
    # Compile the numba kernels outside the timings.
    small = image[None, :32, :32, None]
    small_mask = sampled((1, 32, 32), 0.3, 0)
    ksvd(small, small_mask, n_iter=1, seed=0)
    nonlocal_means(small, small_mask)

    print("| method | fraction | PSNR (dB) | SSIM | seconds |")
    print("|---|---|---|---|---|")
    for fraction in args.fractions:
        observed = sampled(image.shape, fraction, args.seed)[None]
        data = image[None, :, :, None]
        for name, method in METHODS.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                out = method(data, observed, args.seed)[0, :, :, 0]
            seconds = time.perf_counter() - start
            psnr = peak_signal_noise_ratio(image, out, data_range=1)
            ssim = structural_similarity(image, out, data_range=1)
            print(f"| {name} | {fraction:g} | {psnr:.2f} | {ssim:.3f} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
