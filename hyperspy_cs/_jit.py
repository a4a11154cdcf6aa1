"""The numba compilation options of every kernel, in one place.

All are cached on disk (``cache=True``), so that only the first call in a fresh
environment compiles, and release the GIL (``nogil=True``), so that Dask threads
can run tiles side by side.

``SERIAL``
    Helpers inlined into the kernels.
``SERIAL_FAST``
    Serial helpers with ``fastmath``, for sums that must vectorise.
``PARALLEL``
    Kernels that spread patches or rows over numba's threads.
``PARALLEL_FAST``
    The same with ``fastmath`` (reassociated float sums): the BPFA kernels, whose
    reductions run in a fixed order per thread-independent block, so results stay
    the same for any thread count.
"""

SERIAL = {"cache": True, "nogil": True}
SERIAL_FAST = SERIAL | {"fastmath": True}
PARALLEL = SERIAL | {"parallel": True}
PARALLEL_FAST = PARALLEL | {"fastmath": True}
