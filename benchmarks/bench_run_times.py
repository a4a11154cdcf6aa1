"""Wall times of typical reconstructions at the defaults, as quoted in docs/user_guide.rst.

Cases (10 % ``line_hop`` scans of :mod:`hyperspy_cs.data` generators, seed 0):

* ``inpaint_bpfa`` on 128 x 128 and 256 x 256 atomic-resolution images
  (cubic interpolation alongside, for scale);
* ``inpaint_bpfa3d`` with the BSE guide on a 64 x 64 x 1024 EDS map (200 counts per
  position) and on a 256 x 256 x 2048 one at 13 counts per position, like a real
  3-minute map;
* the lazy route on a 128 x 128 x 1024 EDS map: ``.zspy`` in, the call,
  ``get_dictionary`` (streaming and learning passes), ``save`` (tiles) to
  ``.zspy``.

A warm-up on small data first compiles the numba kernels, so that the times
are those of a session that has already run once. Each case runs once and is
timed with ``time.perf_counter``; the 1-minute load average before and after
it is printed, so that a loaded machine shows.

Usage::

    python benchmarks/bench_run_times.py [--cases images eds eds_large lazy]
"""

import argparse
import os
import pathlib
import tempfile
import time
import warnings

import hyperspy.api as hs

import hyperspy_cs as cs

QUIET = {"show_progressbar": False}


def timed(name, function):
    load = os.getloadavg()[0]
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    print(f"{name:62s} {seconds:7.2f} s   (load {load:.2f} -> {os.getloadavg()[0]:.2f})",
          flush=True)
    return result


def image_case(size):
    truth = cs.data.atomic_resolution_image(shape=(size, size), lattice_spacing=12.0, seed=0)
    sub = truth.subsample(0.1, "line_hop", seed=0)
    timed(f"cubic, {size} x {size} image", lambda: sub.inpaint(method="cubic"))
    rec = timed(f"inpaint_bpfa, {size} x {size} image, defaults",
                lambda: sub.inpaint_bpfa(seed=0, **QUIET))
    print(f"    PSNR {cs.psnr(truth, rec):.2f} dB")


def eds_case(size, n_channels, counts):
    si, bse = cs.data.eds_spectrum_image(shape=(size, size), n_channels=n_channels,
                                         counts_per_pixel=counts, seed=0)
    sub = si.subsample(0.1, "line_hop", seed=0)
    rec = timed(f"inpaint_bpfa3d, {size} x {size} x {n_channels} EDS map, BSE guide, defaults",
                lambda: sub.inpaint_bpfa3d(guide=bse, seed=0, **QUIET))
    node = rec.metadata.Reconstruction
    print(f"    {counts:g} counts/position; layers {node.layer_names}; "
          f"{node.parameters.patch_size} px, {node.parameters.n_iter} sweeps")


def lazy_case(folder):
    si, bse = cs.data.eds_spectrum_image(shape=(128, 128), n_channels=1024, seed=0, lazy=True)
    si.subsample(0.1, "line_hop", seed=0).save(folder / "map_10.zspy", **QUIET)
    sub = hs.load(folder / "map_10.zspy", lazy=True)
    total = time.perf_counter()
    rec = timed("lazy 128 x 128 x 1024: inpaint_bpfa3d call (builds the graph)",
                lambda: sub.inpaint_bpfa3d(guide=bse, seed=0, **QUIET))
    timed("lazy 128 x 128 x 1024: get_dictionary (streaming + learning)",
          lambda: cs.get_dictionary(rec))
    timed("lazy 128 x 128 x 1024: save (tiles) to .zspy",
          lambda: rec.save(folder / "map_10_bpfa.zspy", **QUIET))
    print(f"    lazy total {time.perf_counter() - total:.2f} s")


CASES = ("images", "eds", "eds_large", "lazy")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    cases = parser.parse_args().cases
    warnings.filterwarnings("ignore")
    print(f"{os.cpu_count()} CPU(s); load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)

        def warm_up():
            image = cs.data.atomic_resolution_image(shape=(32, 32), seed=0).subsample(0.3, seed=0)
            image.inpaint_bpfa(n_iter=2, burn_in=1, **QUIET)
            si, bse = cs.data.eds_spectrum_image(shape=(16, 16), n_channels=256, seed=0)
            sub = si.subsample(0.3, seed=0)
            sub.inpaint_bpfa3d(guide=bse, n_iter=2, burn_in=1, **QUIET)
            sub.as_lazy().inpaint_bpfa3d(guide=bse, n_iter=2, burn_in=1, **QUIET).compute()

        timed("warm-up (numba compilation or cache load)", warm_up)
        if "images" in cases:
            image_case(128)
            image_case(256)
        if "eds" in cases:
            eds_case(64, 1024, 200.0)
        if "eds_large" in cases:
            eds_case(256, 2048, 13.0)
        if "lazy" in cases:
            lazy_case(folder)


if __name__ == "__main__":
    main()
