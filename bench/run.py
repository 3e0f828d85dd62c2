"""The benchmark suite: ``python -m bench [--quick] [--out PATH] [--threads N]``.

Sections (each prints a table; everything goes to one JSON file):

1. ``check``: minigrad, the NumPy reference (and PyTorch) give the same numbers. Nothing is
   timed unless they do.
2. ``cnn``: the design document's CNN, per-sample SGD and batch-64 SGD (samples/s), one
   forward+backward of a batch of 64 (ms) and its peak memory.
3. ``conv2d``: forward, and forward+backward (dx, dw, db), at four sizes.
4. ``overhead``: a chain of tiny elementwise ops, microseconds per op, against the same NumPy
   calls with no graph.
5. ``scaling``: backward time of chains of 1,000 / 10,000 / 100,000 ops; training throughput
   against batch size.
6. ``memory``: resident and traced memory after 100 and after 10,000 training steps.

Ratios are speeds relative to the NumPy reference (above 1: faster than it), taken round by
round in the same run; every time is the median of interleaved rounds, with its spread.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from bench.contenders import MinigradCNN, MinigradOpsCNN, NumpyCNN, TorchCNN, torch_or_none
from bench.reference import CNNParams, conv2d_backward, conv2d_forward, init_cnn
from bench.timing import Stat, interleave, ratio

__all__ = ["main", "run"]

LR = 0.01
CONV_SIZES = [  # (N, C, H, W, filters), 3x3 kernels
    (1, 1, 28, 28, 8),
    (64, 1, 28, 28, 8),
    (1, 16, 32, 32, 32),
    (64, 16, 32, 32, 32),
]


# --------------------------------------------------------------------------- allocator


def pin_allocator() -> bool:
    """Stop glibc from returning freed memory to the OS between training steps.

    By default glibc trims the heap whenever enough memory sits free at its top, with
    thresholds that move with what the process allocated before. A batch-64 step of the seed
    CNN allocates and frees about 8 MB, so depending on history each step either reuses that
    memory or maps it afresh (about 1,800 page faults, 2 ms: NumPy and minigrad alike run 2.5x
    slower). Fixed thresholds make every contender measure computation, not the allocator's
    state. Returns False where this is not glibc (nothing changes there).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        return bool(
            libc.mallopt(m_trim_threshold, 512 * 2**20)
            and libc.mallopt(m_mmap_threshold, 32 * 2**20)
        )
    except (OSError, AttributeError):
        return False


# --------------------------------------------------------------------------- data


def load_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` 28x28 images and labels: MNIST from ``MINIGRAD_MNIST_DIR`` if set, else synthetic."""
    folder = os.environ.get("MINIGRAD_MNIST_DIR")
    if folder:
        try:
            from minigrad.data import load_mnist

            x, y = load_mnist(folder, "train")
            return np.ascontiguousarray(x[:n]), y[:n], f"MNIST ({folder})"
        except Exception as exc:  # fall back to synthetic data, and say so
            print(f"bench: cannot read MNIST from {folder} ({exc}); using synthetic data")
    x = rng.random((n, 1, 28, 28), dtype=np.float32)
    return x, rng.integers(0, 10, n), "synthetic (uniform pixels, random labels)"


# --------------------------------------------------------------------------- helpers


def _cnn_contenders(params: CNNParams, with_torch: bool) -> dict[str, Any]:
    systems: dict[str, Any] = {
        "numpy": NumpyCNN(params, LR),
        "minigrad": MinigradCNN(params, LR),
        "minigrad-ops": MinigradOpsCNN(params, LR),
    }
    if with_torch:
        systems["torch"] = TorchCNN(params, LR)
    return systems


def _trainer(step: Callable[..., float], x: np.ndarray, t: np.ndarray, batch: int) -> Callable:
    """``run(k)``: ``k`` SGD steps on consecutive batches of ``batch``, cycling through ``x``."""
    starts = list(range(0, len(x) - batch + 1, batch))
    views = [(x[s : s + batch], t[s : s + batch]) for s in starts]
    state = {"i": 0}

    def run(k: int) -> None:
        i = state["i"]
        for _ in range(k):
            xb, tb = views[i % len(views)]
            step(xb, tb)
            i += 1
        state["i"] = i

    return run


def _close(name: str, got: np.ndarray, want: np.ndarray, rtol: float) -> float:
    """The largest error relative to the largest reference value; raises beyond ``rtol``."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shape {got.shape}, expected {want.shape}")
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-12)
    err = float(np.abs(got - want).max(initial=0.0)) / scale
    if not err <= rtol:
        raise AssertionError(f"{name}: relative error {err:.2e} exceeds {rtol:.0e}")
    return err


def _row(stats: dict[str, Stat], name: str, scale: float) -> dict[str, float]:
    return stats[name].as_dict(scale)


# --------------------------------------------------------------------------- 1. check


def check(params: CNNParams, x: np.ndarray, t: np.ndarray, with_torch: bool) -> dict[str, Any]:
    """Same loss and gradients from every system, for batches of 1 and 8, and for conv2d."""
    out: dict[str, Any] = {}
    systems = _cnn_contenders(params, with_torch)
    names = ["conv_w", "conv_b", "dense_w", "dense_b"]
    for batch in (1, 8):
        ref_loss, ref_grads = systems["numpy"].grads(x[:batch], t[:batch])
        for sysname, system in systems.items():
            if sysname == "numpy":
                continue
            loss, grads = system.grads(x[:batch], t[:batch])
            errs = [_close(f"{sysname} loss (batch {batch})", loss, ref_loss, 1e-5)]
            errs += [
                _close(f"{sysname} dL/d{n} (batch {batch})", g, r, 1e-4)
                for n, g, r in zip(names, grads, ref_grads, strict=True)
            ]
            out[f"cnn/{sysname}/batch{batch}"] = max(errs)
    rng = np.random.default_rng(1)
    for n, c, h, w, f in CONV_SIZES:
        xs, ws, bs, gy = _conv_arrays(rng, n, c, h, w, f)
        y, cols = conv2d_forward(xs, ws, bs)
        gx, gw, gb = conv2d_backward(gy, cols, xs.shape, ws)
        tx, tw, tb = (minigrad.Tensor(a, requires_grad=True) for a in (xs, ws, bs))
        ty = minigrad.conv2d(tx, tw, tb)
        ty.backward(gy)
        label = f"conv2d {n}x{c}x{h}x{w} F={f}"
        out[f"conv/{n}x{c}x{h}x{w}x{f}"] = max(
            _close(f"{label} y", ty.data, y, 1e-5),
            _close(f"{label} dx", tx.grad, gx, 1e-5),
            _close(f"{label} dw", tw.grad, gw, 1e-5),
            _close(f"{label} db", tb.grad, gb, 1e-5),
        )
    return out


def _conv_arrays(
    rng: np.random.Generator, n: int, c: int, h: int, w: int, f: int
) -> tuple[np.ndarray, ...]:
    xs = rng.standard_normal((n, c, h, w), dtype=np.float32)
    ws = rng.standard_normal((f, c, 3, 3), dtype=np.float32) / np.float32(3 * np.sqrt(c))
    bs = rng.standard_normal(f, dtype=np.float32)
    gy = rng.standard_normal((n, f, h - 2, w - 2), dtype=np.float32)
    return xs, ws, bs, gy


# --------------------------------------------------------------------------- 2. cnn


def bench_cnn(
    params: CNNParams, x: np.ndarray, t: np.ndarray, with_torch: bool, rounds: int, quick: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    plan = (("per_sample", 1, 200 if quick else 1000), ("batch64", 64, 4 if quick else 12))
    for label, batch, k in plan:
        systems = _cnn_contenders(params, with_torch)
        runners = {name: _trainer(s.step, x, t, batch) for name, s in systems.items()}
        stats = interleave(runners, k, rounds)
        out[label] = {
            "batch": batch,
            "samples_per_s": {n: batch / s.median for n, s in stats.items()},
            "step_us": {n: _row(stats, n, 1e6) for n in stats},
            "vs_numpy": {n: ratio(stats, n, "numpy") for n in stats if n != "numpy"},
        }
        if "torch" in stats:
            out[label]["minigrad_vs_torch"] = ratio(stats, "minigrad", "torch")
    # One forward+backward of a batch of 64 (no update), and its peak memory.
    systems = _cnn_contenders(params, with_torch)
    xb, tb = x[:64], t[:64]

    def fwd_bwd(system: Any) -> Callable[[int], None]:
        def run(k: int) -> None:
            for _ in range(k):
                system.grads(xb, tb)

        return run

    stats = interleave({n: fwd_bwd(s) for n, s in systems.items()}, 4 if quick else 12, rounds)
    peak = {}
    for name, system in systems.items():
        if name == "torch":
            continue  # tracemalloc sees NumPy's allocations, not PyTorch's
        system.grads(xb, tb)
        tracemalloc.start()
        system.grads(xb, tb)
        peak[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    out["fwd_bwd_batch64"] = {
        "ms": {n: _row(stats, n, 1e3) for n in stats},
        "vs_numpy": {n: ratio(stats, n, "numpy") for n in stats if n != "numpy"},
        "peak_bytes": peak,
    }
    return out


# --------------------------------------------------------------------------- 3. conv2d


def bench_conv(with_torch: bool, rounds: int, quick: bool) -> dict[str, Any]:
    torch = torch_or_none() if with_torch else None
    rng = np.random.default_rng(2)
    out: dict[str, Any] = {}
    for n, c, h, w, f in CONV_SIZES:
        xs, ws, bs, gy = _conv_arrays(rng, n, c, h, w, f)
        tx, tw, tb = (minigrad.Tensor(a, requires_grad=True) for a in (xs, ws, bs))

        def np_fwd(k: int, xs: Any = xs, ws: Any = ws, bs: Any = bs) -> None:
            for _ in range(k):
                conv2d_forward(xs, ws, bs)

        def np_both(k: int, xs: Any = xs, ws: Any = ws, bs: Any = bs, gy: Any = gy) -> None:
            for _ in range(k):
                _, cols = conv2d_forward(xs, ws, bs)
                conv2d_backward(gy, cols, xs.shape, ws)

        def mg_fwd(k: int, tx: Any = tx, tw: Any = tw, tb: Any = tb) -> None:
            with minigrad.no_grad():
                for _ in range(k):
                    minigrad.conv2d(tx, tw, tb)

        def mg_both(k: int, tx: Any = tx, tw: Any = tw, tb: Any = tb, gy: Any = gy) -> None:
            for _ in range(k):
                tx.grad = tw.grad = tb.grad = None
                minigrad.conv2d(tx, tw, tb).backward(gy)

        fwd = {"numpy": np_fwd, "minigrad": mg_fwd}
        both = {"numpy": np_both, "minigrad": mg_both}
        if torch is not None:
            px, pw, pb = (torch.from_numpy(a).requires_grad_() for a in (xs, ws, bs))
            pg = torch.from_numpy(gy)

            def th_fwd(k: int, px: Any = px, pw: Any = pw, pb: Any = pb) -> None:
                with torch.no_grad():
                    for _ in range(k):
                        torch.nn.functional.conv2d(px, pw, pb)

            def th_both(k: int, px: Any = px, pw: Any = pw, pb: Any = pb, pg: Any = pg) -> None:
                for _ in range(k):
                    px.grad = pw.grad = pb.grad = None
                    torch.nn.functional.conv2d(px, pw, pb).backward(pg)

            fwd["torch"], both["torch"] = th_fwd, th_both
        work = n * c * f * h * w
        k = max(2, int((2e6 if quick else 1e7) / work))
        sf = interleave(fwd, k, rounds)
        sb = interleave(both, k, rounds)
        out[f"{n}x{c}x{h}x{w}, {f} filters"] = {
            "fwd_ms": {m: _row(sf, m, 1e3) for m in sf},
            "fwd_bwd_ms": {m: _row(sb, m, 1e3) for m in sb},
            "fwd_vs_numpy": {m: ratio(sf, m, "numpy") for m in sf if m != "numpy"},
            "fwd_bwd_vs_numpy": {m: ratio(sb, m, "numpy") for m in sb if m != "numpy"},
        }
    return out


# --------------------------------------------------------------------------- 4. overhead


def _chain(length: int, size: int = 16) -> tuple[minigrad.Tensor, minigrad.Tensor]:
    """``y = x * c * c * ... * c`` (``length`` multiplications) on a tiny float32 tensor."""
    x = minigrad.Tensor(np.ones(size, np.float32), requires_grad=True)
    c = minigrad.Tensor(np.full(size, 1.0001, np.float32))
    y = x
    for _ in range(length):
        y = y * c
    return x, y


def bench_overhead(with_torch: bool, rounds: int, quick: bool) -> dict[str, Any]:
    """Forward+backward of a chain of ``mul`` ops on 16 floats: microseconds per op."""
    length, size = 100, 16
    a = np.ones(size, np.float32)
    c = np.full(size, 1.0001, np.float32)
    seed = np.ones(size, np.float32)

    def numpy_chain(k: int) -> None:  # the same NumPy calls, no graph: y *= c, then g *= c
        for _ in range(k):
            y = a
            for _ in range(length):
                y = y * c
            g = seed
            for _ in range(length):
                g = g * c

    x = minigrad.Tensor(a, requires_grad=True)
    mc = minigrad.Tensor(c)

    def minigrad_chain(k: int) -> None:
        for _ in range(k):
            x.grad = None
            y = x
            for _ in range(length):
                y = y * mc
            y.backward(seed)

    runners: dict[str, Callable[[int], None]] = {"numpy": numpy_chain, "minigrad": minigrad_chain}
    torch = torch_or_none() if with_torch else None
    if torch is not None:
        px = torch.from_numpy(a.copy()).requires_grad_()
        pc, ps = torch.from_numpy(c), torch.from_numpy(seed)

        def torch_chain(k: int) -> None:
            for _ in range(k):
                px.grad = None
                y = px
                for _ in range(length):
                    y = y * pc
                y.backward(ps)

        runners["torch"] = torch_chain
    stats = interleave(runners, 20 if quick else 100, rounds)
    per_op = {n: s.median / length * 1e6 for n, s in stats.items()}
    return {
        "chain_length": length,
        "tensor_size": size,
        "us_per_op": per_op,
        "spread": {n: s.spread for n, s in stats.items()},
        "minigrad_overhead_us_per_op": per_op["minigrad"] - per_op["numpy"],
    }


# --------------------------------------------------------------------------- 5. scaling


def bench_scaling(
    params: CNNParams, x: np.ndarray, t: np.ndarray, with_torch: bool, rounds: int, quick: bool
) -> dict[str, Any]:
    chains: dict[str, Any] = {}
    for length in (1_000, 10_000, 100_000):
        times = []
        for _ in range(max(1, rounds // 2) if length == 100_000 else rounds):
            xt, y = _chain(length)
            start = time.perf_counter()
            y.backward(np.ones(16, np.float32))
            times.append(time.perf_counter() - start)
            del xt, y
        stat = Stat(times)
        chains[str(length)] = {
            "backward_ms": stat.as_dict(1e3),
            "us_per_op": stat.median / length * 1e6,
        }
    per_op = [c["us_per_op"] for c in chains.values()]
    batches: dict[str, Any] = {}
    for batch in (1, 8, 32, 64, 128):
        systems = _cnn_contenders(params, with_torch)
        systems.pop("minigrad-ops")
        runners = {n: _trainer(s.step, x, t, batch) for n, s in systems.items()}
        k = max(2, (64 if quick else 256) // batch)
        stats = interleave(runners, k, max(3, rounds - 2))
        batches[str(batch)] = {
            "samples_per_s": {n: batch / s.median for n, s in stats.items()},
            "spread": {n: s.spread for n, s in stats.items()},
            "minigrad_vs_numpy": ratio(stats, "minigrad", "numpy")["median"],
        }
    return {
        "backward_chain": chains,
        "per_op_growth_1k_to_100k": per_op[-1] / per_op[0],
        "training_vs_batch": batches,
    }


# --------------------------------------------------------------------------- 6. memory


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak, which can only show growth
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def bench_memory(params: CNNParams, x: np.ndarray, t: np.ndarray, quick: bool) -> dict[str, Any]:
    """Per-sample SGD with ``minigrad.nn``: memory after 100 steps and after 10,000."""
    system = MinigradCNN(params, LR)
    run = _trainer(system.step, x, t, 1)
    last = 1_000 if quick else 10_000
    tracemalloc.start()
    run(100)
    rss_100, traced_100 = _rss_bytes(), tracemalloc.get_traced_memory()[0]
    run(last - 100)
    rss_last, traced_last = _rss_bytes(), tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "steps": [100, last],
        "rss_bytes": [rss_100, rss_last],
        "traced_bytes": [traced_100, traced_last],
        "rss_growth_bytes": rss_last - rss_100,
        "traced_growth_bytes": traced_last - traced_100,
    }


# --------------------------------------------------------------------------- targets


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    cnn = results["cnn"]
    rows = [
        {
            "target": "per-sample SGD >= 0.75x NumPy",
            "value": cnn["per_sample"]["vs_numpy"]["minigrad"]["median"],
            "goal": 0.75,
        },
        {
            "target": "batch-64 SGD >= 1.0x NumPy",
            "value": cnn["batch64"]["vs_numpy"]["minigrad"]["median"],
            "goal": 1.0,
        },
    ]
    if "minigrad_vs_torch" in cnn["batch64"]:
        rows.append(
            {
                "target": "batch-64 SGD ahead of PyTorch",
                "value": cnn["batch64"]["minigrad_vs_torch"]["median"],
                "goal": 1.0,
            }
        )
    for size, r in results["conv2d"].items():
        rows.append(
            {
                "target": f"conv2d fwd+bwd {size}: within 1.2x NumPy",
                "value": r["fwd_bwd_vs_numpy"]["minigrad"]["median"],
                "goal": 1 / 1.2,
            }
        )
    mem = results["memory"]
    rows.append(
        {
            "target": f"no memory growth over {mem['steps'][1]:,} steps (traced MB)",
            "value": mem["traced_growth_bytes"] / 2**20,
            "goal": 1.0,
            "lower_is_better": True,
        }
    )
    rows.append(
        {
            "target": "backward linear in graph size (us/op at 100k / at 1k)",
            "value": results["scaling"]["per_op_growth_1k_to_100k"],
            "goal": 1.5,
            "lower_is_better": True,
        }
    )
    for row in rows:
        lower = row.get("lower_is_better", False)
        row["met"] = row["value"] <= row["goal"] if lower else row["value"] >= row["goal"]
    return rows


# --------------------------------------------------------------------------- printing


def _fmt_ratio(r: dict[str, float]) -> str:
    return f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})"


def print_report(results: dict[str, Any]) -> None:
    p = print
    meta = results["meta"]
    p(f"\nminigrad {meta['minigrad']}  numpy {meta['numpy']}  torch {meta['torch'] or '-'}")
    p(f"{meta['platform']}; {meta['threads']} BLAS thread(s); data: {meta['data']}")
    malloc = "pinned (no heap trimming)" if meta["allocator_pinned"] else "system default"
    p(f"glibc heap: {malloc}")
    p(f"{meta['rounds']} interleaved rounds; ratios are speed vs NumPy (>1 = faster)\n")

    if "cnn" in results:
        cnn = results["cnn"]
        p("Seed CNN (conv 8x3x3 -> ReLU -> flatten -> dense 10 -> softmax/CE), float32")
        p(f"  {'system':<14}{'per-sample/s':>14}{'vs numpy':>22}{'batch64/s':>12}{'vs numpy':>22}")
        for name in cnn["per_sample"]["samples_per_s"]:
            ps, b64 = cnn["per_sample"], cnn["batch64"]
            vs1 = "1.00x" if name == "numpy" else _fmt_ratio(ps["vs_numpy"][name])
            vs64 = "1.00x" if name == "numpy" else _fmt_ratio(b64["vs_numpy"][name])
            p(
                f"  {name:<14}{ps['samples_per_s'][name]:>14,.0f}{vs1:>22}"
                f"{b64['samples_per_s'][name]:>12,.0f}{vs64:>22}"
            )
        fb = cnn["fwd_bwd_batch64"]
        p(
            "  forward+backward of one batch of 64: "
            + ", ".join(f"{n} {v['median']:.2f} ms" for n, v in fb["ms"].items())
        )
        p(
            "  peak traced memory of it: "
            + ", ".join(f"{n} {v / 2**20:.1f} MB" for n, v in fb["peak_bytes"].items())
        )

    if "conv2d" in results:
        p("\nconv2d, 3x3 kernels, ms (fwd | fwd+bwd), ratio = speed vs NumPy")
        for size, r in results["conv2d"].items():
            cells = []
            for m in r["fwd_ms"]:
                cell = f"{m} {r['fwd_ms'][m]['median']:.3f} | {r['fwd_bwd_ms'][m]['median']:.3f}"
                if m != "numpy":
                    cell += f" ({r['fwd_bwd_vs_numpy'][m]['median']:.2f}x)"
                cells.append(cell)
            p(f"  {size:<24}" + "; ".join(cells))

    if "overhead" in results:
        o = results["overhead"]
        p(
            f"\nEngine overhead: chain of {o['chain_length']} mul ops on "
            f"{o['tensor_size']} floats, forward+backward, us per op"
        )
        p(
            "  "
            + ", ".join(f"{n} {v:.2f}" for n, v in o["us_per_op"].items())
            + f"; minigrad's graph costs {o['minigrad_overhead_us_per_op']:.2f} us per op"
        )

    if "scaling" in results:
        s = results["scaling"]
        p(
            "\nBackward of a chain: "
            + ", ".join(
                f"{int(n):,} ops {c['backward_ms']['median']:.1f} ms ({c['us_per_op']:.2f} us/op)"
                for n, c in s["backward_chain"].items()
            )
        )
        p("Training throughput against batch size (samples/s):")
        for batch, r in s["training_vs_batch"].items():
            p(
                f"  batch {batch:>4}: "
                + ", ".join(f"{n} {v:,.0f}" for n, v in r["samples_per_s"].items())
                + f"  (minigrad/numpy {r['minigrad_vs_numpy']:.2f}x)"
            )

    if "memory" in results:
        m = results["memory"]
        p(
            f"\nMemory, per-sample SGD: RSS {m['rss_bytes'][0] / 2**20:.1f} MB after "
            f"{m['steps'][0]} steps, {m['rss_bytes'][1] / 2**20:.1f} MB after "
            f"{m['steps'][1]:,}; traced "
            f"{m['traced_bytes'][0] / 2**20:.2f} -> {m['traced_bytes'][1] / 2**20:.2f} MB"
        )

    if results["targets"]:
        p("\nTargets")
        for row in results["targets"]:
            mark = "met   " if row["met"] else "MISSED"
            p(f"  [{mark}] {row['target']}: {row['value']:.3f} (goal {row['goal']:.3f})")


# --------------------------------------------------------------------------- main


def run(
    quick: bool = False,
    torch: bool = True,
    threads: int = 1,
    only: list[str] | None = None,
    system_malloc: bool = False,
) -> dict[str, Any]:
    """Run the sections (all, or those named in ``only``) and return the results."""
    pinned = False if system_malloc else pin_allocator()
    torch_mod = torch_or_none() if torch else None
    if torch_mod is not None:
        torch_mod.set_num_threads(threads)
    with_torch = torch_mod is not None
    rng = np.random.default_rng(0)
    x, t, data = load_data(512, rng)
    params = init_cnn(np.random.default_rng(1))
    rounds = 3 if quick else 7
    results: dict[str, Any] = {
        "meta": {
            "minigrad": minigrad.__version__,
            "numpy": np.__version__,
            "torch": torch_mod.__version__ if with_torch else None,
            "python": platform.python_version(),
            "platform": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "threads": threads,
            "allocator_pinned": pinned,
            "data": data,
            "quick": quick,
            "rounds": rounds,
        }
    }
    sections: list[tuple[str, Callable[[], Any]]] = [
        ("check", lambda: check(params, x, t, with_torch)),
        ("cnn", lambda: bench_cnn(params, x, t, with_torch, rounds, quick)),
        ("conv2d", lambda: bench_conv(with_torch, rounds, quick)),
        ("overhead", lambda: bench_overhead(with_torch, rounds, quick)),
        ("scaling", lambda: bench_scaling(params, x, t, with_torch, rounds, quick)),
        ("memory", lambda: bench_memory(params, x, t, quick)),
    ]
    for name, section in sections:
        if only and name not in only and name != "check":
            continue
        start = time.perf_counter()
        print(f"bench: {name} ...", end=" ", flush=True)
        results[name] = section()
        print(f"{time.perf_counter() - start:.1f} s", flush=True)
    results["targets"] = targets(results) if not only else []
    return results


def main(argv: list[str] | None = None, threads: int = 1) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (~1 minute)")
    parser.add_argument("--out", default="bench/results.json", help="where to write the JSON")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--threads", type=int, default=threads, help="BLAS/PyTorch threads")
    parser.add_argument(
        "--system-malloc",
        action="store_true",
        help="keep glibc's default heap trimming (see pin_allocator in bench/run.py)",
    )
    parser.add_argument(
        "--only", default="", help="comma-separated sections, e.g. cnn,conv2d (check always runs)"
    )
    args = parser.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    results = run(
        quick=args.quick,
        torch=not args.no_torch,
        threads=args.threads,
        only=only,
        system_malloc=args.system_malloc,
    )
    print_report(results)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0
