"""What the first BPFA call costs in a fresh environment (numba compiles the kernels).

A child process with an empty ``NUMBA_CACHE_DIR`` imports hyperspy-cs and runs
``inpaint_bpfa`` on a 48 x 48 sub-sampled image twice (2 sweeps, 16 atoms): the
first call compiles every kernel of the engine and writes numba's cache, the
second shows the run itself. A second child with the same cache directory shows
what a later session pays (loading the cached kernels).

Run: ``python benchmarks/bench_first_call.py`` (about a minute on 2 idle cores).
"""

import os
import subprocess
import sys
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
print(f"import + data {t1 - t0:6.1f} s, first inpaint_bpfa {t2 - t1:6.1f} s, "
      f"second {t3 - t2:6.2f} s")
"""


def main():
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore"}
        for label in ("fresh environment (compiles)", "later session (cached)"):
            result = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True,
                                    capture_output=True, text=True)
            print(f"{label:30s} {result.stdout.strip()}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores)")


if __name__ == "__main__":
    main()
