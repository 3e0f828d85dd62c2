"""minigrad's benchmarks: ``python -m bench`` (see ``bench/run.py`` and docs/performance.md).

Everything is measured against a hand-written NumPy implementation of the same computation
(``bench/reference.py``, checked to give the same numbers) and against PyTorch when it can be
imported. PyTorch is not a dependency of minigrad.
"""
