"""Time per step of the three cells, GRU against LSTM against the tanh RNN (the GRU's chapter).

    python -m lstm_lib.lab.cellbench --out results/gru_bench.json    # about a minute of CPU
    python -m lstm_lib.lab.cellbench --quick --out /tmp/cells.json   # seconds: checks that it runs

One process, one machine, every model timed interleaved with the others by
:func:`lstm_lib.lab.bench.interleaved_times` (the benchmark's machinery: each
repeat times every call once, in alternating order, so a slow moment of the
machine hits all of them). A time is per training step of one layer, the
forward pass ("fwd") or forward and backward ("fwd_bwd", ``output.sum()``),
float32, at one thread, as the lab trains. What the book quotes are ratios
within one repeat, GRU / LSTM, with their median and quartiles over repeats;
the load average before and after is recorded, since other programs on the
machine move every ratio.

Six models per shape: ``lstm_lib``'s LSTM and GRU (their fast loops), its RNN,
and ``torch.nn``'s three, all with the same input. The GRU is also timed at
the hidden size that gives it the LSTM's parameter count (``gru_equal``).
The operators one step costs (forward and backward) are counted for
``lstm_lib``'s three cells (:func:`ops_per_step`).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from ..modules import GRU, LSTM, RNN
from ..weights import gru_param_count, lstm_param_count
from . import results as R
from .bench import interleaved_times, spread
from .experiments import DEFAULTS
from .progress import progress_bar

SCHEMA = "lstm_lib.cellbench/1"
PROGRAM = "lstm_lib.lab.cellbench"
MODES = ("fwd", "fwd_bwd")
SHAPES = {"lab_adding": {"T": DEFAULTS["adding"]["T"], "B": DEFAULTS["adding"]["batch"], "d": 2,
                         "n": DEFAULTS["adding"]["hidden"]},
          "bench": {"T": 100, "B": 64, "d": 64, "n": 64},
          "large": {"T": 100, "B": 64, "d": 64, "n": 256}}
QUICK = {"quick": {"T": 6, "B": 3, "d": 2, "n": 4}}
MODELS = ("lstm", "gru", "gru_equal", "rnn", "torch_lstm", "torch_gru", "torch_rnn")

__all__ = ["equal_gru_hidden", "models", "measure_shape", "ops_per_step", "main", "SHAPES",
           "MODELS", "SCHEMA"]


def equal_gru_hidden(d, n):
    """The GRU hidden size whose layer has the parameter count nearest an LSTM's (d, n)."""
    target = lstm_param_count(d, n)
    m = n
    while gru_param_count(d, m + 1) <= target:
        m += 1
    return m + 1 if gru_param_count(d, m + 1) - target < target - gru_param_count(d, m) else m


def models(shape, seed=0):
    """{name: module} for one shape, float32, drawn from one seed each."""
    d, n = shape["d"], shape["n"]
    make = {"lstm": lambda: LSTM(d, n), "gru": lambda: GRU(d, n),
            "gru_equal": lambda: GRU(d, equal_gru_hidden(d, n)), "rnn": lambda: RNN(d, n),
            "torch_lstm": lambda: nn.LSTM(d, n), "torch_gru": lambda: nn.GRU(d, n),
            "torch_rnn": lambda: nn.RNN(d, n)}
    out = {}
    for name in MODELS:
        torch.manual_seed(seed)
        out[name] = make[name]()
    return out


def _call(model, x, mode):
    if mode == "fwd":
        def run():
            model(x)
    else:
        def run():
            model.zero_grad(set_to_none=True)
            out, _ = model(x)
            out.sum().backward()
    return run


def measure_shape(name, shape, mode, repeats=15, min_block=0.05, threads=1, seed=0):
    """Time the models of :func:`models` on one shape and mode; one result row."""
    ms = models(shape, seed)
    x = torch.randn(shape["T"], shape["B"], shape["d"], generator=torch.Generator().manual_seed(1))
    times, numbers = interleaved_times({k: _call(m, x, mode) for k, m in ms.items()},
                                       threads, repeats, min_block)
    per = {k: [t / shape["T"] for t in v] for k, v in times.items()}     # seconds per step

    def ratio(a, b):
        r = spread([p / q for p, q in zip(per[a], per[b])])
        return {k: round(v, 4) for k, v in r.items()}

    return {"name": name, **shape, "mode": mode, "threads": threads, "repeats": repeats,
            "gru_equal_hidden": equal_gru_hidden(shape["d"], shape["n"]),
            "us_per_step": {k: round(1e6 * spread(v)["median"], 3) for k, v in per.items()},
            "calls_per_block": numbers,
            "ratios": {"gru_over_lstm": ratio("gru", "lstm"),
                       "gru_equal_over_lstm": ratio("gru_equal", "lstm"),
                       "rnn_over_lstm": ratio("rnn", "lstm"),
                       "torch_gru_over_torch_lstm": ratio("torch_gru", "torch_lstm"),
                       "gru_over_torch_gru": ratio("gru", "torch_gru"),
                       "lstm_over_torch_lstm": ratio("lstm", "torch_lstm")}}


class _Ops(TorchDispatchMode):
    """Counts the operators the dispatcher runs (top level only)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def ops_per_step(cell, B=4, d=3, n=5, T=(10, 20)):
    """Operators one more time step costs ``lstm_lib``'s cell ("lstm", "gru", "rnn"):
    {"forward": ..., "backward": ...}, from two lengths (what is outside the loop cancels)."""
    make = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell]
    counts = []
    for steps in T:
        torch.manual_seed(0)
        m = make(d, n)
        x = torch.randn(steps, B, d)
        with _Ops() as fwd:
            out, _ = m(x)
        loss = out.sum()
        with _Ops() as bwd:
            loss.backward()
        counts.append((fwd.count, bwd.count))
    (f1, b1), (f2, b2) = counts
    return {"forward": (f2 - f1) / (T[1] - T[0]), "backward": (b2 - b1) / (T[1] - T[0])}


def build_parser():
    p = R.Parser(prog=f"python -m {PROGRAM}",
                 description="Time the GRU against the LSTM and the tanh RNN per step "
                             "(lstm_lib's and torch.nn's), interleaved, and write a JSON results file.")
    p.add_argument("--out", required=True, type=Path, help="results file to write (JSON)")
    p.add_argument("--force", action="store_true", help="overwrite an existing results file")
    p.add_argument("--quick", action="store_true", help="one tiny shape (seconds)")
    p.add_argument("--repeats", type=R.positive_int, default=15, help="timed repeats per shape and mode")
    p.add_argument("--min-block", type=R.positive_float, default=0.05,
                   help="seconds per timed block of calls (default 0.05)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    return p


def main(argv=None):
    """Entry point of ``python -m lstm_lib.lab.cellbench``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    R.check_out(parser, args.out, args.force)
    record = R.environment(PROGRAM, argv)
    record["machine"].update(cpu_model=R.cpu_model(), load_average_start=R.load_average())
    shapes = QUICK if args.quick else SHAPES
    jobs = [(name, shape, mode) for name, shape in shapes.items() for mode in MODES]
    bar = progress_bar(len(jobs), "cellbench", unit="shape",
                       enabled=not args.quiet and sys.stderr.isatty())
    start = time.perf_counter()
    rows = []
    try:
        for name, shape, mode in jobs:
            rows.append(measure_shape(name, shape, mode, args.repeats, args.min_block))
            if bar is not None:
                bar.update()
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; nothing written", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    record["machine"]["load_average_end"] = R.load_average()
    result = {"schema": SCHEMA, **record, "seconds": round(time.perf_counter() - start, 1),
              "settings": {"quick": args.quick, "repeats": args.repeats,
                           "min_block_seconds": args.min_block, "threads": 1,
                           "dtype": "float32", "loss": "output.sum()", "shapes": shapes},
              "ops_per_step": {cell: ops_per_step(cell) for cell in ("lstm", "gru", "rnn")},
              "results": rows}
    if args.out.exists() and not args.force:
        print(f"{parser.prog}: error: --out: {args.out} appeared while running; "
              f"pass --force to overwrite it", file=sys.stderr)
        return 2
    R.write_json(args.out, result)
    if not args.quiet:
        for row in rows:
            r = row["ratios"]["gru_over_lstm"]
            t = row["ratios"]["torch_gru_over_torch_lstm"]
            print(f"{row['name']:<11} {row['mode']:<8} GRU/LSTM {r['median']:.2f} "
                  f"[{r['q1']:.2f}, {r['q3']:.2f}]  torch.nn GRU/LSTM {t['median']:.2f}")
        print(f"wrote {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
