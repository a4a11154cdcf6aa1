"""What the first BPFA call costs in a fresh environment (numba compiles the kernels).

A child process with an empty ``NUMBA_CACHE_DIR`` imports hyperspy-cs and runs
``inpaint_bpfa`` on a 48 x 48 sub-sampled image twice (2 sweeps, 16 atoms): the
first call compiles every kernel of the engine and writes numba's cache, the
second shows the run itself. A second child with the same cache directory shows
what a later session pays (loading the cached kernels).

With ``--against REV`` the package as it was at the git revision ``REV`` is
measured in the same run, fresh environments of the two taking turns, and the
ratio of their median first calls is printed: this machine's speed varies from
one minute to the next (17 to 24 s for the same code), the ratio much less.

Run: ``python benchmarks/bench_first_call.py [--against HEAD~1] [--rounds 3]``
(about 40 s per round and version on 2 idle cores).
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tarfile
import tempfile

CHILD = """
import time
t0 = time.perf_counter()
import hyperspy_cs as cs
image = cs.data.atomic_resolution_image(shape=(48, 48), seed=0).subsample(0.2, seed=0)
t1 = time.perf_counter()
image.inpaint_bpfa(n_iter=2, n_atoms=16, show_progressbar=False)
t2 = time.perf_counter()
image.inpaint_bpfa(n_iter=2, n_atoms=16, show_progressbar=False)
t3 = time.perf_counter()
print(f"{t1 - t0:.2f} {t2 - t1:.2f} {t3 - t2:.3f} {cs.__file__}")
"""

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]


def run_child(cache, package_root=None):
    """(import seconds, first call seconds, second call seconds, package file)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore"}
    if package_root is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root,
                                                           env.get("PYTHONPATH")]))
    # run from the cache directory: ``python -c`` puts the working directory first on
    # the path, and a checkout's own package would shadow the one asked for
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True, cwd=cache,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), out[3]


def extract(revision, into):
    """The package ``hyperspy_cs`` at git ``revision``, unpacked under ``into``."""
    into = pathlib.Path(into)
    into.mkdir()
    archive = into / "package.tar"
    subprocess.run(["git", "-C", str(REPOSITORY), "archive", "-o", str(archive), revision,
                    "hyperspy_cs"], check=True)
    with tarfile.open(archive) as tar:
        # the "data" filter (Python >= 3.10.12) refuses links out of the folder
        tar.extractall(into, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return str(into)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        versions = {"this tree": None}
        if args.against:
            versions = {args.against: extract(args.against, pathlib.Path(work) / "ref"),
                        **versions}
        first = {label: [] for label in versions}
        for round_ in range(args.rounds):
            for label, root in versions.items():
                cache = tempfile.mkdtemp(dir=work)
                fresh = run_child(cache, root)
                cached = run_child(cache, root)
                assert (root is None) != fresh[3].startswith(work), fresh[3]
                first[label].append(fresh[1])
                print(f"{label:>12s} round {round_ + 1}: import + data {fresh[0]:5.1f} s, "
                      f"first inpaint_bpfa {fresh[1]:5.1f} s (fresh environment, compiles), "
                      f"{cached[1]:4.1f} s (later session, cached), second {fresh[2]:.2f} s",
                      flush=True)
        medians = {label: statistics.median(times) for label, times in first.items()}
        for label, value in medians.items():
            print(f"median first call, {label}: {value:.1f} s")
        if args.against:
            print(f"ratio this tree / {args.against}: "
                  f"{medians['this tree'] / medians[args.against]:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
