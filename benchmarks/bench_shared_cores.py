"""A reconstruction on cores shared with other heavy jobs: how much slower, and what helps.

A child process runs ``inpaint_bpfa3d`` with its guide on a 10 % random scan of a
40 x 50 x 1024 EDS map from :func:`hyperspy_cs.data.eds_spectrum_image` (defaults,
after a warm-up that loads the compiled kernels), while ``0``, ``2`` or ``8`` other
processes spin on the CPU (``while True: pass``), under several thread settings:

- numba's default threads (one per core) on its OpenMP layer (``omp``), whose
  threads spin-wait at the end of every parallel region;
- ``OMP_WAIT_POLICY=passive``: the waiting threads sleep instead;
- ``NUMBA_NUM_THREADS=1``;
- ``NUMBA_THREADING_LAYER=workqueue`` (numba's own pool; not safe for several
  Python threads running kernels at once, as Dask's threaded scheduler does for
  lazy tiles, so only for eager use).

Every time is printed with its ratio to the idle default, beside the share of the
cores the child's threads get if every runnable thread gets an equal share: a ratio
far above ``1 / share`` means the threads lose time waiting for each other, not
only to the other jobs.

Run: ``python benchmarks/bench_shared_cores.py`` (about 2 minutes on 2 cores; run it
with nothing else running).
"""

import os
import subprocess
import sys

CHILD = """
import time, warnings
warnings.filterwarnings("ignore")
import hyperspy_cs as cs
si, bse = cs.data.eds_spectrum_image(shape=(40, 50), n_channels=1024, seed=0)
sub = si.subsample(0.1, pattern="random", seed=0)
w_si, w_bse = cs.data.eds_spectrum_image(shape=(16, 16), n_channels=256, seed=0)
w_si.subsample(0.5, seed=0).inpaint_bpfa3d(guide=w_bse, n_iter=2, show_progressbar=False)
t0 = time.perf_counter()
sub.inpaint_bpfa3d(guide=bse, show_progressbar=False)
print(time.perf_counter() - t0)
"""

SETTINGS = {
    "default (omp layer, 1 thread per core)": {},
    "OMP_WAIT_POLICY=passive": {"OMP_WAIT_POLICY": "passive"},
    "NUMBA_NUM_THREADS=1": {"NUMBA_NUM_THREADS": "1"},
    "NUMBA_THREADING_LAYER=workqueue": {"NUMBA_THREADING_LAYER": "workqueue"},
}


def run_child(env):
    result = subprocess.run([sys.executable, "-c", CHILD], env={**os.environ, **env},
                            check=True, capture_output=True, text=True)
    return float(result.stdout.strip().splitlines()[-1])


def main():
    cores = os.cpu_count()
    print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}")
    idle = None
    for n_busy in (0, 2, 8):
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(n_busy)]
        try:
            for name, env in SETTINGS.items():
                threads = int(env.get("NUMBA_NUM_THREADS", cores))
                seconds = run_child(env)
                idle = seconds if idle is None else idle
                # the cores the child's threads get when every runnable thread gets
                # an equal share, over the cores it uses when idle
                share = threads * min(1.0, cores / (n_busy + threads)) / cores
                print(f"{n_busy} busy, {name:40s} {seconds:6.2f} s  {seconds / idle:5.1f}x "
                      f"idle default  (its share of the cores: {share:.2f})")
        finally:
            for p in spinners:
                p.kill()


if __name__ == "__main__":
    main()
