"""Benchmark: ``lstm_lib.LSTM`` against ``torch.nn.LSTM`` on the CPU (appendix: Performance).

    python -m lstm_lib.lab.bench --out results/bench.json        # the committed run, a few minutes
    python -m lstm_lib.lab.bench --quick --out /tmp/bench.json   # seconds: checks that it works

(Before the lab had a package of its own this was ``python -m lstm_lib.bench``,
the command that results/bench.json records.)

Every measurement times the modules in the same process, on the same input
and the same weights, interleaved: each repeat times every module once, in
alternating order, so that a slow moment of the machine hits all of them.
The figure reported for a shape is the median over repeats of the per-repeat
ratio (ours / torch.nn.LSTM), with its quartiles, minimum and maximum. One
repeat is one block of calls timed with ``torch.utils.benchmark.Timer``
(at least ``--min-block`` seconds, so very short calls are averaged).

Two modes: "fwd" is the forward pass of a training step (gradients enabled,
output discarded); "fwd_bwd" adds ``output.sum().backward()``, with the
parameters' gradients reset before each call. float32, input without
gradient, as in the lab's training steps (one extra row at the benchmark
shape gives the input a gradient too).

What is measured (``plan``):

* the benchmark shape, T = 100 steps, B = 64, d = 64, n = 64, with 2 and 1
  threads, also for the readable loop (``LSTM(fast=False)``);
* the lab's own shapes (``lab_shapes()``: from the lab's table of defaults,
  ``lstm_lib.lab.experiments.DEFAULTS``);
* a larger hidden size, n = 256, at the benchmark's T, B and d;
* one sweep each over batch size, sequence length and hidden size around the
  benchmark shape (2 threads).

The results file records the exact command, the versions, the date and the
machine (cores, CPU model, thread counts, load average before and after);
``summary`` holds the headline numbers under flat names, for the book to
glue. The machine's other work moves every ratio by about 0.1 from run to
run; ``--wait-idle`` waits for a quiet machine first (Ctrl-C stops the wait, or the
run, with one line and exit status 130). ``--threads`` takes at most as many
threads as the cores this process may use: more would time the scheduler. A progress bar shows on
a terminal; it is off when output is not a terminal, with ``--quiet``, or with
``LSTM_LIB_NO_PROGRESS``.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils import benchmark
from torch.utils._python_dispatch import TorchDispatchMode

from ..modules import LSTM
from . import results as R
from . import tasks
from .experiments import DEFAULTS
from .progress import progress_bar

SCHEMA = "lstm_lib.bench/1"
PROGRAM = "lstm_lib.lab.bench"     # recorded in results files as "python -m lstm_lib.lab.bench ..."
BENCH_SHAPE = {"T": 100, "B": 64, "d": 64, "n": 64}
LAB_TASKS = ("adding", "exp4", "order", "copy")
LARGE_HIDDEN = 256
SWEEPS = {"B": [8, 16, 32, 64, 128, 256], "T": [10, 25, 50, 100, 200, 400],
          "n": [16, 32, 64, 128, 256]}
QUICK_SHAPE = {"T": 8, "B": 4, "d": 3, "n": 5}
MODES = ("fwd", "fwd_bwd")


# --------------------------------------------------------------------------- plan

def lab_shapes():
    """The lab's shapes, {task: {"T", "B", "d", "n"}}: batch and hidden size from the
    lab's table of defaults, length and input size from one sequence of each task.

    Tasks whose sequences vary in length are padded to the longest: T + T//10
    for Experiment 4, ``max_length`` for the temporal-order problem.
    """
    a, e, o, c = (DEFAULTS[task] for task in LAB_TASKS)
    inputs = {"adding": tasks.adding_problem(a["T"], 1, 0).x,
              "exp4": tasks.hochreiter_adding(e["T"], 1, 0).x,
              "order": tasks.temporal_order(1, 0).x,
              "copy": tasks.copy_memory(c["T"], 1, 0, length=c["length"],
                                        alphabet=c["alphabet"]).x}
    return {task: {"T": inputs[task].shape[0], "B": DEFAULTS[task]["batch"],
                   "d": inputs[task].shape[-1], "n": DEFAULTS[task]["hidden"]}
            for task in LAB_TASKS}


def plan(quick=False, threads=(2, 1), repeats=15):
    """The list of measurement points: dicts with group, name, shape, threads, repeats, models."""
    if quick:
        return [dict(group="benchmark", name="quick", **QUICK_SHAPE, threads=threads[0],
                     repeats=repeats, models=("ours", "torch", "readable", "products"),
                     input_grad=False)]
    points = []

    def add(group, name, shape, thr, reps=repeats, models=("ours", "torch"), input_grad=False):
        points.append(dict(group=group, name=name, **shape, threads=thr, repeats=reps,
                           models=models, input_grad=input_grad))

    for thr in threads:
        add("benchmark", "benchmark", BENCH_SHAPE, thr, max(repeats, 21),
            models=("ours", "torch", "readable", "products"))
    add("benchmark_input_grad", "benchmark, input with gradient", BENCH_SHAPE, threads[0],
        input_grad=True)
    for name, shape in lab_shapes().items():
        for thr in threads:
            add("lab", name, shape, thr)
    for thr in threads:
        add("large", f"n={LARGE_HIDDEN}", dict(BENCH_SHAPE, n=LARGE_HIDDEN), thr,
            max(5, repeats // 2))
    for axis, values in SWEEPS.items():
        for v in values:
            shape = dict(BENCH_SHAPE, **{axis: v})
            big = shape["T"] * shape["B"] * shape["n"] * (shape["n"] + shape["d"])
            reps = repeats if big <= 4 * 100 * 64 * 64 * 128 else max(5, repeats // 2)
            add(f"sweep_{axis}", f"{axis}={v}", shape, threads[0], reps)
    return points


# --------------------------------------------------------------------------- measuring

def _models(point, seed=0):
    """torch.nn.LSTM and our two paths, with the same float32 weights."""
    torch.manual_seed(seed)
    theirs = nn.LSTM(point["d"], point["n"])
    models = {"torch": theirs}
    if "ours" in point["models"]:
        models["ours"] = LSTM(point["d"], point["n"])
    if "readable" in point["models"]:
        models["readable"] = LSTM(point["d"], point["n"], fast=False)
    for m in models.values():
        m.load_state_dict(theirs.state_dict())
    return models


def _step(model, x, mode):
    """One call to time: the forward pass of a training step, or forward and backward."""
    if mode == "fwd":
        def run():
            model(x)
    else:
        def run():
            model.zero_grad(set_to_none=True)
            out, _ = model(x)
            out.sum().backward()
    return run


def _products_only(point, mode, seed=0):
    """Only the matrix products of one layer's training step, on random data: a floor.

    Forward: the input projection of all T steps, (TB, d) x (d, 4n), then T
    recurrent products (B, n) x (n, 4n). Backward: T products (B, 4n) x (4n, n)
    for dL/dh_{t-1}, and dL/dW_hh, dL/dW_ih (and dL/dx if the input needs it)
    as one product each over all steps. Every implementation does these products;
    the rest of its time is the other work (activations, bookkeeping, overhead).
    """
    T, B, d, n = point["T"], point["B"], point["d"], point["n"]
    g = torch.Generator().manual_seed(seed)
    X, H = torch.randn(T * B, d, generator=g), torch.randn(T + 1, B, n, generator=g)
    W_ih, W_hh = torch.randn(4 * n, d, generator=g), torch.randn(4 * n, n, generator=g)
    Z, dZ = torch.empty(T, B, 4 * n), torch.randn(T, B, 4 * n, generator=g)
    dH = torch.empty(T, B, n)
    W_ih_T, W_hh_T = W_ih.T, W_hh.T

    def run():
        torch.mm(X, W_ih_T, out=Z.view(T * B, 4 * n))
        for t in range(T):
            torch.addmm(Z[t], H[t], W_hh_T, out=Z[t])
        if mode == "fwd":
            return
        for t in range(T - 1, 0, -1):
            torch.addmm(dH[t - 1], dZ[t], W_hh, out=dH[t - 1])
        D = dZ.view(T * B, 4 * n)
        D.T @ H[:-1].reshape(T * B, n)
        D.T @ X
        if point["input_grad"]:
            D @ W_ih
    return run


def _block(fn, threads, number):
    """Seconds per call, over one block of ``number`` calls."""
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    return timer.timeit(number).mean


def _stats(values):
    v = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3),
            "min": float(v.min()), "max": float(v.max())}


def measure(point, mode, min_block=0.05, seed=0):
    """Time every model of ``point`` in ``mode``; returns one result row (a dict)."""
    threads = point["threads"]
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        models = _models(point, seed)
        g = torch.Generator().manual_seed(seed + 1)
        x = torch.randn(point["T"], point["B"], point["d"], generator=g)
        x.requires_grad_(point["input_grad"])
        fns = {name: _step(m, x, mode) for name, m in models.items()}
        if "products" in point["models"]:
            fns["products"] = _products_only(point, mode, seed)
        numbers = {}
        for name, fn in fns.items():                       # warm up, then size the blocks
            fn()
            start = time.perf_counter()
            fn()
            once = max(time.perf_counter() - start, 1e-6)
            numbers[name] = max(1, math.ceil(min_block / once))
        names = list(fns)
        times = {name: [] for name in names}
        for r in range(point["repeats"]):
            order = names if r % 2 == 0 else names[::-1]    # alternate who goes first
            for name in order:
                times[name].append(_block(fns[name], threads, numbers[name]))
    finally:
        torch.set_num_threads(previous)
    row = {k: point[k] for k in ("group", "name", "T", "B", "d", "n", "threads", "repeats",
                                  "input_grad")}
    row["mode"] = mode
    row["ms"] = {name: round(1e3 * float(np.median(t)), 4) for name, t in times.items()}
    row["calls_per_block"] = numbers
    for name in names:
        if name == "torch":
            continue
        ratios = np.asarray(times[name]) / np.asarray(times["torch"])
        key = "ratio" if name == "ours" else f"ratio_{name}"
        row[key] = {k: round(v, 4) for k, v in _stats(ratios).items()}
        row[key]["per_repeat"] = [round(float(r), 4) for r in ratios]
    return row


class _OpLog(TorchDispatchMode):
    """Records the name of every operator PyTorch's dispatcher runs (top level only)."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def torch_kernel_names(seed=0):
    """The operators torch.nn.LSTM runs for one training step here (its fused kernel)."""
    torch.manual_seed(seed)
    m = nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    with _OpLog() as log:
        out, _ = m(x)
        out.sum().backward()
    return sorted({f"aten::{n}" for n in log.names
                   if any(k in n for k in ("lstm", "rnn", "mkldnn"))})


def ops_per_step(fast=True, B=4, d=3, n=5, T=(10, 20)):
    """Operators per time step of one LSTM layer: {"forward": ..., "backward": ...}.

    Counts every operator the dispatcher runs for a forward pass and for the
    backward pass of ``output.sum()``, at two lengths T1 < T2; the difference
    divided by T2 - T1 is the cost of one more step (what is outside the loop cancels).
    """
    counts = []
    for steps in T:
        torch.manual_seed(0)
        m = LSTM(d, n, fast=fast)
        x = torch.randn(steps, B, d)
        with _OpLog() as fwd:
            out, _ = m(x)
        loss = out.sum()
        with _OpLog() as bwd:
            loss.backward()
        counts.append((len(fwd.names), len(bwd.names)))
    (f1, b1), (f2, b2) = counts
    span = T[1] - T[0]
    return {"forward": (f2 - f1) / span, "backward": (b2 - b1) / span}


# --------------------------------------------------------------------------- results file

def environment(argv):
    """What a results file records about how and where it was made."""
    env = R.environment(PROGRAM, argv)
    env["machine"].update(cpu_model=R.cpu_model(), torch_default_threads=torch.get_num_threads(),
                          mkldnn=torch.backends.mkldnn.is_available())
    return env


def summarize(rows):
    """Flat headline numbers for the book: ``{group}_{mode}_{what}_{threads}t``."""
    out = {}
    for row in rows:
        if row["group"] not in ("benchmark", "benchmark_input_grad", "large", "lab"):
            continue
        prefix = {"benchmark": "bench", "benchmark_input_grad": "bench_input_grad",
                  "large": f"n{row['n']}", "lab": f"lab_{row['name']}"}[row["group"]]
        suffix = f"{row['threads']}t"
        mode = row["mode"]
        r = row["ratio"]
        out[f"{prefix}_{mode}_ratio_{suffix}"] = r["median"]
        out[f"{prefix}_{mode}_ratio_q1_{suffix}"] = r["q1"]
        out[f"{prefix}_{mode}_ratio_q3_{suffix}"] = r["q3"]
        out[f"{prefix}_{mode}_ours_ms_{suffix}"] = row["ms"]["ours"]
        out[f"{prefix}_{mode}_torch_ms_{suffix}"] = row["ms"]["torch"]
        for other in ("readable", "products"):
            if f"ratio_{other}" in row:
                out[f"{prefix}_{mode}_{other}_ratio_{suffix}"] = row[f"ratio_{other}"]["median"]
                out[f"{prefix}_{mode}_{other}_ms_{suffix}"] = row["ms"][other]
    return out


# --------------------------------------------------------------------------- command line

def cores():
    """The CPU cores this process may use (its affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _threads(text):
    parts = [v.strip() for v in text.split(",")]
    try:
        values = [int(v) for v in parts]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of positive integers, got {text!r}")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"each thread count once, got {text!r}")
    return values


def _check_threads(parser, threads, given):
    """More threads than cores measures the machine's scheduler, not the code: refuse."""
    most = cores()
    if max(threads) > most:
        hint = "" if given else f" (the default {','.join(map(str, threads))}: pass --threads 1)"
        parser.error(f"--threads: at most {most} (the CPU cores this process may use), "
                     f"got {max(threads)}{hint}")


def _bounded(kind, low, high):
    """argparse type: an integer in [low, high], or a number in (low, high]."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if kind is int:
            ok, expected = value is not None and low <= value <= high, f"an integer in [{low}, {high}]"
        else:
            ok = value is not None and math.isfinite(value) and low < value <= high
            expected = f"a number in ({low}, {high}]"
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


def build_parser():
    p = R.Parser(prog=f"python -m {PROGRAM}",
                description="Time lstm_lib.LSTM against torch.nn.LSTM (forward, and forward "
                            "+ backward) and write a JSON results file.")
    p.add_argument("--out", required=True, type=Path, help="results file to write (JSON)")
    p.add_argument("--force", action="store_true", help="overwrite an existing results file")
    p.add_argument("--quick", action="store_true",
                   help="one tiny shape, to check that the benchmark runs (seconds)")
    p.add_argument("--threads", type=_threads, default=[2, 1],
                   help="torch thread counts, the first one for the sweeps (default 2,1)")
    p.add_argument("--repeats", type=_bounded(int, 1, 1000), default=15,
                   help="timed repeats per shape and mode (the benchmark shape gets >= 21)")
    p.add_argument("--min-block", type=_bounded(float, 0, 60), default=0.05,
                   help="seconds per timed block of calls (default 0.05)")
    p.add_argument("--wait-idle", type=R.positive_float, default=None, metavar="LOAD",
                   help="first wait until the 1-minute load average is below LOAD")
    p.add_argument("--wait-max", type=_bounded(float, 0, 86400), default=1800,
                   help="seconds to wait for --wait-idle at most, then run anyway (default 1800)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    return p


def wait_for_idle(limit, max_seconds, poll=60.0, say=print):
    """Wait until the 1-minute load average is below ``limit``; returns seconds waited."""
    start = time.monotonic()
    while True:
        load = R.load_average()
        waited = time.monotonic() - start
        if load is None or load[0] < limit or waited >= max_seconds:
            return round(waited, 1)
        say(f"load average {load[0]:.2f} >= {limit}: waiting ({waited:.0f} s so far)")
        time.sleep(min(poll, max(1.0, max_seconds - waited)))


def format_row(row):
    shape = f"T={row['T']:<4}B={row['B']:<4}d={row['d']:<3}n={row['n']:<4}"
    r = row["ratio"]
    s = (f"{row['group']:<21}{row['name']:<12}{shape} {row['threads']}t {row['mode']:<8}"
         f"ours {row['ms']['ours']:9.2f} ms  torch {row['ms']['torch']:9.2f} ms  "
         f"ratio {r['median']:5.2f} [{r['q1']:.2f}, {r['q3']:.2f}]")
    for other in ("readable", "products"):
        if f"ratio_{other}" in row:
            s += f"  {other} {row[f'ratio_{other}']['median']:.2f}"
    return s


def main(argv=None):
    """Entry point of ``python -m lstm_lib.lab.bench``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_threads(parser, args.threads, any(a.startswith("--threads") for a in argv))
    R.check_out(parser, args.out, args.force)
    try:
        return _run(parser, args, argv)
    except KeyboardInterrupt:                 # Ctrl-C, while waiting or measuring
        print(f"{parser.prog}: interrupted; nothing written", file=sys.stderr)
        return 130


def _run(parser, args, argv):
    bar_on = not args.quiet and sys.stderr.isatty()       # a bar for a person at a terminal
    say = (lambda *a: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    waited = None
    if args.wait_idle is not None:
        waited = wait_for_idle(args.wait_idle, args.wait_max, say=say)
    record = environment(argv)
    record["machine"]["load_average_start"] = R.load_average()
    points = plan(args.quick, tuple(args.threads), args.repeats)
    jobs = [(p, mode) for p in points for mode in MODES]
    bar = progress_bar(len(jobs), "bench", unit="shape", enabled=bar_on)
    start = time.perf_counter()
    rows = []
    try:
        for point, mode in jobs:
            if bar is not None:
                bar.set_description(f"{point['group']} {point['name']} {point['threads']}t {mode}")
            rows.append(measure(point, mode, args.min_block))
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    record["machine"]["load_average_end"] = R.load_average()
    record["machine"]["threads_measured"] = list(args.threads[:1] if args.quick else args.threads)
    result = {"schema": SCHEMA, **record, "waited_for_idle_seconds": waited,
              "seconds": round(time.perf_counter() - start, 1),
              "settings": {"quick": args.quick, "repeats": args.repeats,
                           "min_block_seconds": args.min_block, "dtype": "float32",
                           "device": "cpu", "modes": list(MODES),
                           "loss": "output.sum()", "bench_shape": BENCH_SHAPE,
                           "lab_shapes": lab_shapes(), "sweeps": SWEEPS,
                           "torch_kernels": torch_kernel_names()},
              "ops_per_step": {"ours": ops_per_step(True), "readable": ops_per_step(False)},
              "summary": summarize(rows), "results": rows}
    if R.write_out(parser.prog, args.out, result, args.force):
        return 2
    if not args.quiet:
        for row in rows:
            print(format_row(row))
        print(f"wrote {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
