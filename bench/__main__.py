"""``python -m bench``: pin the BLAS thread count before NumPy loads, then run the suite.

One thread by default: on a small machine shared with other work, a multi-threaded BLAS
spin-waits for busy cores and single runs vary by 10x; one thread compares like with like.
Pass ``--threads N`` to measure with N.
"""

import os
import sys


def _threads(argv: list[str]) -> int:
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


if __name__ == "__main__":
    threads = _threads(sys.argv[1:])
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    from bench.run import main  # NumPy is imported here, after the thread count is set

    raise SystemExit(main(threads=threads))
