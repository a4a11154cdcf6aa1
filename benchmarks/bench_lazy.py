"""Lazy BPFA on maps larger than memory: wall time, peak memory, seams, scaling.

Parts (``--part``):

a. A synthetic ``size x size`` EDS map of ``size`` channels (uint16 counts,
   ``hyperspy_cs.data.eds_spectrum_image`` generated lazily, row by row), 10 %
   sampled (random), written to ``.zspy`` with its BSE guide; then, in a fresh
   process, loaded lazily and reconstructed with ``inpaint_bpfa3d`` (the call
   builds the graph only), its streaming and learning passes run by
   ``get_dictionary`` (so that the dictionary is saved with the result), and the
   result written lazily to ``.zspy``. Prints the wall time of each step and the peak
   resident memory of the reconstructing process (``getrusage``, itself plus
   its children); the target at 1024 is 2 GiB.
b. Tiled (``--tile`` px) against single-block on a 256 x 256 map: the maximum
   absolute difference, and the same run on differently chunked input.
c. Throughput of the tile pass with 1 and 2 Dask workers: the threaded
   scheduler and a ``dask.distributed.LocalCluster`` of processes.
d. Quality of the lazy result against the eager one at the package's defaults, on a
   map big enough for several learning windows (``--d-size``, 512 by default, 256
   channels) at a low dose (13 counts per pixel, 10 % random, BSE guide): the error
   of each X-ray line map (``get_lines_intensity``) against the noiseless truth's,
   pooled over the lines relative to their spatial variance (%), for cubic
   interpolation of the sampled line maps, the eager and the lazy reconstruction.

Every part writes a Markdown section to ``benchmarks/results/lazy.md`` (``--out``).

Usage::

    nice python benchmarks/bench_lazy.py --part a --size 256      # quick
    nice python benchmarks/bench_lazy.py --part a --size 1024     # the target
    nice python benchmarks/bench_lazy.py --part bc
    nice python benchmarks/bench_lazy.py --part d                 # lazy against eager
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SETTINGS = {"patch_size": 6, "n_atoms": 48, "n_iter": 16, "burn_in": 8, "layers": "auto",
            "seed": 0}
# --defaults: the package's defaults for everything but the seed (part a)
DEFAULTS = {"seed": 0}
FRACTION = 0.1
# Light-element phases: every line below 1.8 keV, so 256 channels (of 10 eV) hold them.
PHASES = {
    "quartz": {"Si": 0.47, "O": 0.53},
    "spinel": {"Mg": 0.17, "Al": 0.38, "O": 0.45},
    "albite": {"Na": 0.09, "Al": 0.10, "Si": 0.32, "O": 0.49},
}


def _quiet():
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("hyperspy").setLevel(logging.ERROR)


def _peak_rss_mib():
    """Peak resident memory of this process and of its (waited-for) children, MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024  # Linux reports KiB


def generate(size, channels, workdir):
    """Write the sub-sampled map and its guide to ``workdir``; runs in its own process."""
    _quiet()
    import hyperspy_cs as cs

    start = time.perf_counter()
    si, bse = cs.data.eds_spectrum_image(shape=(size, size), n_channels=channels,
                                         counts_per_pixel=200, grain_size=24, seed=1,
                                         phases=PHASES, lazy=True)
    si.data = si.data.astype(np.uint16)
    sub = si.subsample(FRACTION, seed=2)
    chunk = min(64, size)
    sub.save(workdir / "map.zspy", chunks=(chunk, chunk, channels), overwrite=True,
             show_progressbar=False)
    bse.save(workdir / "guide.zspy", overwrite=True, show_progressbar=False)
    return {"generate_s": time.perf_counter() - start}


def reconstruct(workdir, tile, settings):
    """Load lazily, reconstruct, save lazily; runs in its own process."""
    _quiet()
    import hyperspy.api as hs

    import hyperspy_cs as cs

    sub = hs.load(workdir / "map.zspy", lazy=True)
    guide = hs.load(workdir / "guide.zspy", lazy=True)
    start = time.perf_counter()
    rec = sub.inpaint_bpfa3d(guide=guide, tile_size=tile, show_progressbar=False, **settings)
    called = time.perf_counter()
    cs.get_dictionary(rec)
    learned = time.perf_counter()
    chunk = min(64, sub.data.shape[0])
    rec.save(workdir / "reconstruction.zspy", chunks=(chunk, chunk, sub.data.shape[-1]),
             overwrite=True, show_progressbar=False)
    done = time.perf_counter()
    node = rec.metadata.Reconstruction
    return {
        "call_s": called - start,
        "learning_s": learned - called,
        "tiles_and_write_s": done - learned,
        "total_s": done - start,
        "peak_rss_mib": _peak_rss_mib(),
        "layers": list(node.layer_names),
        "tile_size": int(node.tiling.tile_size),
        "n_windows": int(len(node.tiling.learning_windows)),
        "input_chunks": str(sub.data.chunksize),
        "resolved": {name: int(node.parameters[name]) for name in ("patch_size", "n_atoms", "n_iter",
                                                              "burn_in")},
    }


def _child(step, args):
    """Run ``step`` in a fresh Python process (so its peak memory is its own)."""
    command = [sys.executable, __file__, "--step", step, "--size", str(args.size),
               "--channels", str(args.channels), "--workdir", str(args.workdir)]
    if args.tile:
        command += ["--tile", str(args.tile)]
    if args.defaults:
        command += ["--defaults"]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def part_a(args):
    generated = _child("generate", args)
    result = _child("reconstruct", args)
    disk = {name: sum(f.stat().st_size for f in (args.workdir / name).rglob("*") if f.is_file())
            / 2**20 for name in ("map.zspy", "reconstruction.zspy")}
    size, channels = args.size, args.channels
    lines = [
        f"## (a) {size} x {size} x {channels} uint16 EDS map, {FRACTION:.0%} sampled, "
        "lazy from .zspy to .zspy",
        "",
        f"Settings: {DEFAULTS if args.defaults else SETTINGS} (resolved: "
        f"{result['resolved']}), guide = BSE image, tile {result['tile_size']} px, "
        f"{result['n_windows']} learning window(s), layers {result['layers']}, input "
        f"chunks {result['input_chunks']}; on disk: input {disk['map.zspy']:.1f} MiB, "
        f"result {disk['reconstruction.zspy']:.0f} MiB (float32).",
        "",
        "| step | wall time (s) |",
        "|---|---|",
        f"| generate + sub-sample + write the map (lazy) | {generated['generate_s']:.1f} |",
        f"| `inpaint_bpfa3d` call (builds the graph) | {result['call_s']:.2f} |",
        f"| streaming + learning passes (`get_dictionary`) | {result['learning_s']:.1f} |",
        f"| tiles + write the result (`save`) | {result['tiles_and_write_s']:.1f} |",
        f"| reconstruction total | {result['total_s']:.1f} |",
        "",
        f"Peak RSS of the reconstructing process: **{result['peak_rss_mib']:.0f} MiB** "
        f"(target at 1024: <= 2048 MiB).",
    ]
    return lines


def _small_map(size, channels):
    import hyperspy_cs as cs

    si, bse = cs.data.eds_spectrum_image(shape=(size, size), n_channels=channels,
                                         counts_per_pixel=200, grain_size=24, seed=1,
                                         phases=PHASES)
    return si.subsample(FRACTION, seed=2), bse


def part_b(args):
    import dask

    sub, bse = _small_map(256, args.channels)
    results = {}
    for name, tile, chunks in (("single block", 256, (256, 256, args.channels)),
                               (f"tiles of {args.tile} px", args.tile, (256, 256, args.channels)),
                               (f"tiles of {args.tile} px, input chunks (32, 256, 64)",
                                args.tile, (32, 256, 64))):
        lazy = sub.as_lazy()
        lazy.data = lazy.data.rechunk(chunks)
        rec = lazy.inpaint_bpfa3d(guide=bse, tile_size=tile, show_progressbar=False, **SETTINGS)
        start = time.perf_counter()
        (results[name],) = dask.compute(rec.data)
        print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    single = results["single block"]
    lines = [f"## (b) Tiled vs single-block, 256 x 256 x {args.channels}, {FRACTION:.0%} sampled",
             "", f"Settings: {SETTINGS}, guide = BSE image.", "",
             "| run | max abs difference from single block (counts) |", "|---|---|"]
    lines += [f"| {name} | {np.abs(r - single).max():.3g} |" for name, r in results.items()
              if name != "single block"]
    lines += ["", f"Largest value of the result: {np.abs(single).max():.3g} counts."]
    return lines


def _warm_worker():
    """Import the package and load the numba kernels, so timings exclude start-up."""
    _quiet()
    import hyperspy_cs as cs

    sub = cs.data.atomic_resolution_image(shape=(16, 16), seed=0).subsample(0.5, seed=0)
    sub.inpaint_bpfa(patch_size=4, n_atoms=4, n_iter=2, burn_in=1, show_progressbar=False)


def part_c(args):
    """Tile pass of a lazily loaded .zspy map with 1 and 2 workers."""
    import dask
    import hyperspy.api as hs
    from dask.distributed import Client, LocalCluster

    import hyperspy_cs as cs

    sub, bse = _small_map(args.c_size, args.channels)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        path = pathlib.Path(tmp) / "map.zspy"
        sub.save(path, chunks=(64, 64, args.channels), show_progressbar=False)
        rec = hs.load(path, lazy=True).inpaint_bpfa3d(guide=bse, tile_size=args.tile,
                                                      show_progressbar=False, **SETTINGS)
        cs.get_dictionary(rec)  # the learning pass, once: the graph keeps what it found
        for workers in (1, 2):
            start = time.perf_counter()
            dask.compute(rec.data, scheduler="threads", num_workers=workers)
            rows.append(("threads (numba: 2 threads per kernel)", workers,
                         time.perf_counter() - start))
            print(rows[-1], file=sys.stderr)
        for workers in (1, 2):
            # One numba thread per worker process: the workers share the cores.
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None,
                              env={"NUMBA_NUM_THREADS": "1"}) as cluster, \
                    Client(cluster) as client:
                client.run(_warm_worker)
                start = time.perf_counter()
                dask.compute(rec.data)
                rows.append(("LocalCluster of processes (numba: 1 thread each)", workers,
                             time.perf_counter() - start))
            print(rows[-1], file=sys.stderr)
    n_tiles = int(np.prod(rec.data.numblocks[:2]))
    lines = [f"## (c) Throughput of the tile pass, {args.c_size} x {args.c_size} x "
             f"{args.channels} from .zspy, {n_tiles} tiles of {args.tile} px", "",
             f"Settings: {SETTINGS}; streaming and learning passes and worker start-up "
             "not included; "
             f"load average before the run: {os.getloadavg()[0]:.1f} (shared machine).", "",
             "| scheduler | workers | wall time (s) | positions / s | speed-up |",
             "|---|---|---|---|---|"]
    base = {}
    for scheduler, workers, seconds in rows:
        base.setdefault(scheduler, seconds)
        lines.append(f"| {scheduler} | {workers} | {seconds:.1f} | "
                     f"{args.c_size**2 / seconds:.0f} | {base[scheduler] / seconds:.2f} |")
    return lines


def _truth_error(maps, truth):
    """Pooled squared error of line maps ``(L, R, C)`` against noiseless ones, in % of
    their spatial variance."""
    return 100.0 * np.mean((maps - truth) ** 2, axis=(1, 2)).sum() / truth.var(axis=(1, 2)).sum()


def part_d(args):
    """Lazy (several learning windows) against eager at defaults, low counts."""
    import hyperspy_cs as cs
    from bench_counts import cubic, line_maps

    size, channels, counts = args.d_size, 256, 13.0
    si, bse, truth = cs.data.eds_spectrum_image(
        shape=(size, size), n_channels=channels, counts_per_pixel=counts, grain_size=24,
        seed=1, phases=PHASES, return_truth=True)
    sub = si.subsample(FRACTION, seed=2)
    reference = line_maps(truth.spectrum_image)
    mask = np.asarray(cs.get_mask(sub), dtype=bool)
    rows = [("cubic interpolation of the sampled line maps",
             _truth_error(cubic(line_maps(sub), mask), reference), None, "")]
    start = time.perf_counter()
    eager = sub.inpaint_bpfa3d(guide=bse, seed=0, show_progressbar=False)
    rows.append(("eager, defaults", _truth_error(line_maps(eager), reference),
                 time.perf_counter() - start, f"layers {eager.metadata.Reconstruction.layer_kind}"))
    start = time.perf_counter()
    lazy = sub.as_lazy().inpaint_bpfa3d(guide=bse, seed=0, show_progressbar=False)
    cs.get_dictionary(lazy)  # the learning pass, which records the layers it chose
    lazy.compute(show_progressbar=False)
    node = lazy.metadata.Reconstruction
    rows.append(("lazy, defaults", _truth_error(line_maps(lazy), reference),
                 time.perf_counter() - start,
                 f"layers {node.layer_kind}, {len(node.tiling.learning_windows)} learning "
                 f"windows, tile {node.tiling.tile_size} px"))
    lines = [f"## (d) Lazy against eager, {size} x {size} x {channels} EDS map, "
             f"{counts:g} counts/px, {FRACTION:.0%} random, BSE guide, defaults (seed 0)", "",
             "Error of the X-ray line maps against the noiseless truth (pooled over "
             f"{len(reference)} lines, % of their spatial variance; lower is better).", "",
             "| method | error (%) | wall time (s) | notes |", "|---|---|---|---|"]
    lines += [f"| {name} | {error:.1f} | {'-' if seconds is None else f'{seconds:.0f}'} | {note} |"
              for name, error, seconds, note in rows]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="abc", help="any of a, b, c, d")
    parser.add_argument("--size", type=int, default=1024, help="(a) scan side in pixels")
    parser.add_argument("--channels", type=int, default=None,
                        help="channels (default: --size for (a), 1024 for (b), (c))")
    parser.add_argument("--tile", type=int, default=None,
                        help="tile side in pixels (default: the package's for (a), 64 for (b), (c))")
    parser.add_argument("--defaults", action="store_true",
                        help="(a) the package's defaults instead of the benchmark's settings")
    parser.add_argument("--c-size", type=int, default=256, help="(c) scan side in pixels")
    parser.add_argument("--d-size", type=int, default=512, help="(d) scan side in pixels")
    parser.add_argument("--workdir", type=pathlib.Path, default=None)
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "results" / "lazy.md")
    parser.add_argument("--step", choices=("generate", "reconstruct"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = (generate(args.size, args.channels, args.workdir) if args.step == "generate"
                  else reconstruct(args.workdir, args.tile,
                                   DEFAULTS if args.defaults else SETTINGS))
        print(json.dumps(result))
        return
    _quiet()
    from threadpoolctl import threadpool_limits

    # numba already runs a thread per core; BLAS threads on top oversubscribe 2 cores.
    threadpool_limits(1)
    sections = []
    if "a" in args.part:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            sections.append(part_a(argparse.Namespace(
                **{**vars(args), "channels": args.channels or args.size,
                   "workdir": pathlib.Path(tmp)})))
    args.channels = args.channels or 1024
    args.tile = args.tile or 64
    if "b" in args.part:
        sections.append(part_b(args))
    if "c" in args.part:
        sections.append(part_c(args))
    if "d" in args.part:
        sections.append(part_d(args))
    text = "\n".join("\n".join(s) + "\n" for s in sections)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a") as f:
        f.write(f"\n<!-- {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
                f"python benchmarks/bench_lazy.py {' '.join(sys.argv[1:])} -->\n\n{text}")


if __name__ == "__main__":
    main()
