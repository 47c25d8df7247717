"""BLAS thread settings shared by the benchmarks: imported before numpy, which reads them."""

from __future__ import annotations

import os

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def set_blas_threads(argv: list[str]) -> int:
    """--threads N overrides the environment; otherwise each variable defaults to 1.

    Runs before numpy is imported, because BLAS reads these variables when it loads.
    """
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--threads=") else None
        if arg == "--threads" and i + 1 < len(argv):
            value = argv[i + 1]
        if value is not None and value.isdigit():
            for var in THREAD_VARS:
                os.environ[var] = value
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    return int(os.environ["OMP_NUM_THREADS"])
