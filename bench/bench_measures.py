"""Benchmark the closed forms of intraclass.measures against the brute-force scikit-learn / scipy paths, and time
``measure_summary``, ``c5`` and ``measure_sweeps`` on one synthetic model of CIFAR size.

    python bench/bench_measures.py                      # the full run (a few minutes)
    python bench/bench_measures.py --sizes 2500 --cifar-samples 5000   # quick check

Prints three tables:

1. ``measure_summary`` on 50,000 x 2,880 float16 pre-activations over 24 layers (ResNet-26 x1 widths), 20 classes
   of 5 subclasses, per BLAS thread count, with its peak memory relative to the activations' size. It runs first,
   in a fresh subprocess, so that its peak memory is its own; then ``c5`` (bimodality, a separate pass over the
   same layers) and ``measure_sweeps`` (c1, c3 at 6 k's and c4 at 3 percentiles) in the same process, each with
   its time and traced peak memory relative to ``measure_summary``'s;
2. pairwise-distance spread: ``pairwise_cosine_distance_std`` (Gram identity, O(n d^2)) against
   ``np.std(scipy.spatial.distance.pdist(X, "cosine"))`` (n(n-1)/2 distances, O(n^2 d));
3. silhouettes: ``cosine_silhouette_samples`` (per-cluster sums, O(n d K)) against
   ``sklearn.metrics.silhouette_samples(X, labels, metric="cosine")`` (chunked n x n distances, O(n^2 d)).

Brute-force runs whose estimated memory exceeds ``--max-brute-gib`` are skipped and reported as such.
The goals printed: >= 100x for the spread at n = 20,000 and >= 10x for silhouettes at n = 10,000.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
import tracemalloc

import numpy as np

GIB = 1024**3
SWEEP_K = (1, 5, 10, 30, 100, 300)
SWEEP_PERCENTILES = (50.0, 75.0, 90.0)


def _timed(fn, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _data(n: int, d: int, n_clusters: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative clustered data (like activations), no zero row."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_clusters, n)
    centers = rng.normal(size=(n_clusters, d))
    x = np.maximum(rng.normal(size=(n, d)) + centers[labels], 0.0)
    x[:, 0] = np.abs(x[:, 0]) + 1e-3  # no zero rows, so scipy's pdist is a valid reference
    return x, labels


def bench_spread(sizes, d, max_gib, repeat):
    from scipy.spatial.distance import pdist

    from intraclass.measures import pairwise_cosine_distance_std

    rows = []
    for n in sizes:
        x, _ = _data(n, d, 5, seed=n)
        t_fast, v_fast = _timed(lambda: pairwise_cosine_distance_std(x), repeat)
        need = n * (n - 1) / 2 * 8 * 2 / GIB  # the distances plus np.std's temporary
        if need > max_gib:
            rows.append((n, t_fast, None, None, f"brute force skipped: needs ~{need:.1f} GiB"))
            continue
        t_brute, v_brute = _timed(lambda: float(np.std(pdist(x, "cosine"))), 1)
        rows.append((n, t_fast, t_brute, abs(v_fast - v_brute), f"~{need:.1f} GiB"))
    return rows


def bench_silhouette(sizes, d, n_clusters, max_gib, repeat):
    from sklearn.metrics import silhouette_samples

    from intraclass.measures import cosine_silhouette_samples

    rows = []
    for n in sizes:
        x, labels = _data(n, d, n_clusters, seed=n + 1)
        t_fast, s_fast = _timed(lambda: cosine_silhouette_samples(x, labels), repeat)
        need = (1.0 + 4 * n * 8 / GIB) if n > 0 else 0  # sklearn's 1 GiB chunks plus a few n-vectors
        if need > max_gib:
            rows.append((n, t_fast, None, None, f"brute force skipped: needs ~{need:.1f} GiB"))
            continue
        t_brute, s_brute = _timed(lambda: silhouette_samples(x, labels, metric="cosine"), 1)
        rows.append((n, t_fast, t_brute, float(np.abs(s_fast - s_brute).max()), "chunked, ~1 GiB"))
    return rows


def _reset_peak_rss() -> bool:
    """Reset this process's resident-memory high-water mark (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    """Bytes: VmHWM from /proc (resettable), else ru_maxrss (inherited from the parent at fork on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _traced(fn):
    """(seconds, traced peak bytes, result) of ``fn()``."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, peak, out


def _cifar_child(n: int, threads: list[int], seed: int, queue) -> None:
    """Runs in a fresh process: builds the synthetic model's pre-activations, times measure_summary, c5 and the
    sweeps."""
    from threadpoolctl import threadpool_limits

    from intraclass.measures import c5, measure_summary, measure_sweeps

    rng = np.random.default_rng(seed)
    widths = [32] * 6 + [64] * 6 + [128] * 6 + [256] * 6
    sub = rng.integers(0, 100, n)
    lab = sub // 5
    layers = []
    for w in widths:
        centers = 0.5 * rng.standard_normal((100, w), dtype=np.float32)
        x = rng.standard_normal((n, w), dtype=np.float32)
        x += centers[sub]
        layers.append(x.astype(np.float16))
        del x
    names = [f"layer{i}" for i in range(len(widths))]
    act_bytes = sum(a.nbytes for a in layers)
    results = []
    for th in threads:
        _reset_peak_rss()
        rss_before = _peak_rss()
        tracemalloc.start()
        with threadpool_limits(th):
            t0 = time.perf_counter()
            summary = measure_summary(layers, names, lab, sub, k_neurons=30, k_layers=5)
            dt = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = _peak_rss()
        results.append(
            dict(
                threads=th,
                seconds=dt,
                traced_peak=peak,
                rss_peak=rss_after,
                rss_before=rss_before,
                rss_growth=max(rss_after - rss_before, 0),
                values={k: summary[k] for k in ("c1", "c2", "c3", "c4")},
            )
        )
    extra = {}
    with threadpool_limits(threads[0]):
        extra["c5"] = _traced(lambda: c5(layers, lab, k=30))
        extra["sweeps"] = _traced(
            lambda: measure_sweeps(layers, lab, sub, k_values=SWEEP_K, percentiles=SWEEP_PERCENTILES, k_layers=5)
        )
    queue.put(dict(n=n, neurons=sum(widths), layers=len(widths), act_bytes=act_bytes, results=results, extra=extra))


def bench_cifar(n, threads, seed=0):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_cifar_child, args=(n, threads, seed, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def _fmt_ratio(fast, brute):
    return "-" if brute is None else f"{brute / fast:8.1f}x"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2500, 10000, 20000], help="sample counts")
    ap.add_argument("--dim", type=int, default=128, help="features (neurons of a layer)")
    ap.add_argument("--clusters", type=int, default=5, help="clusters for the silhouettes (subclasses)")
    ap.add_argument("--max-brute-gib", type=float, default=20.0, help="skip brute force needing more memory")
    ap.add_argument("--repeat", type=int, default=3, help="repeats of the closed forms (best time kept)")
    ap.add_argument("--cifar-samples", type=int, default=50000, help="samples of the synthetic model (0: skip)")
    ap.add_argument("--blas-threads", type=int, nargs="+", default=[1, 2], help="BLAS threads for the summary")
    ap.add_argument(
        "--compare-threads", type=int, default=1, help="BLAS threads for the closed-form vs brute-force tables"
    )
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f} (other jobs share the cores)")
    if args.cifar_samples > 0:
        out = bench_cifar(args.cifar_samples, args.blas_threads)
        mib = out["act_bytes"] / 1024**2
        print(
            f"\n1. measure_summary on {out['n']} x {out['neurons']} float16 over {out['layers']} layers, "
            f"20 classes x 5 subclasses (activations {mib:.0f} MiB)"
        )
        print(
            f"{'BLAS thr':>8} {'seconds':>8} {'traced peak':>12} {'x act':>6} {'RSS peak':>9} {'x act':>6}"
            f" {'RSS start':>10}  c1..c4"
        )
        for r in out["results"]:
            v = r["values"]
            print(
                f"{r['threads']:>8} {r['seconds']:8.1f} {r['traced_peak'] / 1024**2:9.0f} MiB "
                f"{r['traced_peak'] / out['act_bytes']:6.2f} {r['rss_peak'] / 1024**2:5.0f} MiB "
                f"{r['rss_peak'] / out['act_bytes']:6.2f} {r['rss_before'] / 1024**2:6.0f} MiB  "
                + " ".join(f"{v[k]:.4f}" for k in ("c1", "c2", "c3", "c4"))
            )
        print(
            "  traced peak: memory allocated by measure_summary beyond its inputs (tracemalloc); RSS peak: the whole"
            " process during the call, activations included (VmHWM, reset before the call); RSS start: resident"
            " memory when the call starts (interpreter, libraries, activations)."
        )
        fastest = min(r["seconds"] for r in out["results"])
        print(f"  goal: < 60 s per model on 2 cores -> {'PASS' if fastest < 60 else 'FAIL'} ({fastest:.1f} s)")
        base = out["results"][0]
        print(f"\n   ... beside measure_summary ({base['threads']} BLAS thread(s)), on the same layers:")
        print(f"{'':>8} {'seconds':>8} {'x summary':>10} {'traced peak':>12} {'x summary':>10}  value")
        sweep_label = f"sweeps: c1, c3 at k = {SWEEP_K}, c4 at percentiles {SWEEP_PERCENTILES}"
        for name, label in (("c5", "c5 (k = 30)"), ("sweeps", sweep_label)):
            dt, peak, value = out["extra"][name]
            shown = f"{value:.4f}" if name == "c5" else label
            print(
                f"{name:>8} {dt:8.1f} {dt / base['seconds']:9.2f}x {peak / 1024**2:9.0f} MiB "
                f"{peak / base['traced_peak']:9.2f}x  {shown}"
            )

    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(args.compare_threads)  # both sides alike; pdist itself is single-threaded
    print(f"\nTables 2 and 3 run with {args.compare_threads} BLAS thread(s) on both sides.")
    print(f"\n2. Spread of pairwise cosine distances, d = {args.dim}: closed form vs np.std(pdist(X, 'cosine'))")
    print(f"{'n':>7} {'closed s':>10} {'pdist s':>10} {'speed-up':>10} {'|diff|':>9}  note")
    spread = bench_spread(args.sizes, args.dim, args.max_brute_gib, args.repeat)
    for n, tf, tb, diff, note in spread:
        tb_s = "-" if tb is None else f"{tb:10.3f}"
        diff_s = "-" if diff is None else f"{diff:9.1e}"
        print(f"{n:>7} {tf:10.4f} {tb_s:>10} {_fmt_ratio(tf, tb):>10} {diff_s:>9}  {note}")

    print(f"\n3. Cosine silhouettes, d = {args.dim}, K = {args.clusters}: closed form vs sklearn silhouette_samples")
    print(f"{'n':>7} {'closed s':>10} {'sklearn s':>10} {'speed-up':>10} {'max|diff|':>9}  note")
    sil = bench_silhouette(args.sizes, args.dim, args.clusters, args.max_brute_gib, args.repeat)
    for n, tf, tb, diff, note in sil:
        tb_s = "-" if tb is None else f"{tb:10.3f}"
        diff_s = "-" if diff is None else f"{diff:9.1e}"
        print(f"{n:>7} {tf:10.4f} {tb_s:>10} {_fmt_ratio(tf, tb):>10} {diff_s:>9}  {note}")

    limits.restore_original_limits()
    print("\nGoals:")
    for label, rows, n_goal, goal in (("spread", spread, 20000, 100), ("silhouettes", sil, 10000, 10)):
        row = next((r for r in rows if r[0] == n_goal), None)
        if row is None or row[2] is None:
            print(f"  {label}: >= {goal}x at n = {n_goal}: not measured")
        else:
            ratio = row[2] / row[1]
            print(f"  {label}: >= {goal}x at n = {n_goal}: {ratio:.0f}x -> {'PASS' if ratio >= goal else 'FAIL'}")


if __name__ == "__main__":
    main()
