"""The lab's experiments, and the command line that runs them and writes results.

Each experiment is a function of its settings that trains
``lstm_lib.modules.LSTM`` or ``RNN`` (through :mod:`lstm_lib.train`) and
returns a plain dict, ready for JSON. The command line runs several seeds
and writes one results file that records the exact command, the versions,
the date and the machine::

    python -m lstm_lib.lab adding   --T 200 --seeds 3 --out results/adding_T200.json
    python -m lstm_lib.lab exp4     --T 100 --seeds 5 --out results/exp4_T100.json
    python -m lstm_lib.lab order    --seeds 3 --out results/order.json
    python -m lstm_lib.lab copy     --T 20 --seeds 3 --out results/copy_T20.json
    python -m lstm_lib.lab ablation --T 100 --seeds 5 --out results/ablation_T100.json

``python -m lstm_lib.lab TASK --help`` lists every setting. An existing
results file is never overwritten without ``--force``. A progress bar shows
on a terminal; it is off under CI, when output is not a terminal, or with
``--quiet``.

The gate analysis (:func:`lstm_trace`, :func:`hold_statistics`) reads a
trained ``lstm_lib.modules.LSTM`` through the numpy reference, which exposes
every gate: ``weights.lstm_params_from_torch`` then ``reference.lstm_forward``.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import results as R
from . import tasks
from . import train as tr
from .reference import lstm_forward
from .weights import lstm_params_from_torch

SCHEMA = "lstm_lib.lab/1"
TEST_SEED = 2**20        # the test sets are the same for every seed and model
EXPERIMENTS = ("adding", "exp4", "order", "copy", "ablation")

__all__ = ["run_adding", "run_exp4", "run_order", "run_copy", "run_ablation",
           "summarize", "lstm_trace", "hold_statistics", "environment", "main",
           "EXPERIMENTS", "SCHEMA"]


def _train_rng(seed, stream):
    """The training-data generator of one run: depends on the seed and the task only."""
    return np.random.default_rng([seed, stream])


# --------------------------------------------------------------------------- experiments

def run_adding(cell="lstm", T=100, seed=0, hidden=16, batch=32, lr=0.02, clip=1.0,
               forget_bias=1.0, steps=1500, eval_every=25, test_size=1000,
               stop_mse=None, input_bias=None, progress=None, return_model=False):
    """The adding problem (:func:`lstm_lib.tasks.adding_problem`): test MSE against
    sequences seen, on one fixed test set of ``test_size`` sequences.

    stop_mse: stop at the first evaluation with test MSE below it (None: run all steps).
    forget_bias applies to the LSTM only. Returns a dict (and the model if asked).
    """
    lstm = cell == "lstm"
    model = tr.make_model(cell, 2, hidden, 1, forget_bias=forget_bias if lstm else None,
                          input_bias=input_bias if lstm else None, seed=seed)
    rng = _train_rng(seed, 1)
    test = tasks.adding_problem(T, test_size, rng=TEST_SEED + T)
    hist = tr.train(model, lambda: tasks.adding_problem(T, batch, rng), tr.mse_loss, steps,
                    lr=lr, clip=clip, evaluate=lambda m: tr.regression_metrics(m, test),
                    eval_every=eval_every,
                    stop_when=None if stop_mse is None else (lambda m: m["mse"] < stop_mse),
                    progress=progress)
    record = {
        "cell": cell, "T": T, "seed": seed, "forget_bias": forget_bias if lstm else None,
        "input_bias": input_bias if lstm else None,
        "clip": clip, "sequences": hist["sequences"], "test_mse": hist["mse"],
        "sequences_to_mse_0.01": tr.first_crossing(hist, "mse", 0.01),
        "final_test_mse": hist["mse"][-1], "baseline_mse": tasks.adding_baseline_mse(),
        "first_grad_norm": hist["first_grad_norm"],
        "max_grad_norm": max(hist["grad_norm"]),
        "fraction_clipped": (float(np.mean(np.asarray(hist["grad_norm"]) > clip))
                             if clip is not None else 0.0),
        "steps_run": hist["steps_run"], "sequences_seen": hist["sequences_seen"],
        "stopped": hist["stopped"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


def run_exp4(T=100, seed=0, hidden=16, batch=16, lr=0.01, clip=1.0, forget_bias=3.0,
             input_bias=-3.0, max_sequences=100_000, test_size=2560, progress=None,
             return_model=False):
    """Hochreiter and Schmidhuber's Experiment 4, on their terms.

    Sequences from :func:`lstm_lib.tasks.hochreiter_adding`; training stops when
    :class:`lstm_lib.tasks.SuccessCriterion` is met (each of the last 2,000
    training sequences within 0.04, judged when it was trained on), or after
    ``max_sequences``. Then ``test_size`` (2,560, as in the paper) fresh
    sequences are scored with the same 0.04 test. The defaults start the gates
    where the 1997 cell worked: input gate nearly shut (b_i = -3, their remedy
    against drift) and forget gate nearly open (b_f = 3, f about 0.95; the
    1997 cell had no forget gate, f = 1).
    """
    model = tr.make_model("lstm", 2, hidden, 1, forget_bias=forget_bias, input_bias=input_bias,
                          seed=seed)
    rng = _train_rng(seed, 4)
    criterion = tasks.SuccessCriterion(window=2000, tol=0.04, mse=0.01)
    steps = math.ceil(max_sequences / batch)
    hist = tr.train(model, lambda: tasks.hochreiter_adding(T, batch, rng), tr.mse_loss, steps,
                    lr=lr, clip=clip,
                    on_batch=lambda b, out: criterion.update(out, b.y), progress=progress)
    test = tasks.hochreiter_adding(T, test_size, rng=TEST_SEED + 4 * T)
    with torch.no_grad():
        model.eval()
        wrong = int((~tasks.hochreiter_correct(model(test.x, test.lengths).squeeze(-1),
                                               test.y)).sum())
    met = hist["stopped"] == "on_batch"
    record = {
        "T": T, "seed": seed, "forget_bias": forget_bias, "input_bias": input_bias, "clip": clip,
        "criterion_met": met, "sequences_to_criterion": criterion.seen if met else None,
        "sequences_seen": hist["sequences_seen"],
        "fraction_correct_last_window": criterion.fraction_correct,
        "test_wrong": wrong, "test_size": test_size,
        "first_grad_norm": hist["first_grad_norm"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


def run_order(cell="lstm", seed=0, hidden=32, batch=32, lr=0.01, clip=1.0, forget_bias=1.0,
              epochs=20, train_size=2000, test_size=1000, n_relevant=2, input_bias=None,
              progress=None, return_model=False):
    """The temporal-order problem (:func:`lstm_lib.tasks.temporal_order`) as classification.

    One epoch is one pass, in a fresh random order, over a fixed training set
    of ``train_size`` sequences, in batches of ``batch``. Test accuracy on a fixed
    set of ``test_size`` sequences is measured before training and after each epoch.
    """
    lstm = cell == "lstm"
    model = tr.make_model(cell, len(tasks.ORDER_SYMBOLS), hidden, 2 ** n_relevant,
                          forget_bias=forget_bias if lstm else None,
                          input_bias=input_bias if lstm else None, seed=seed)
    rng = _train_rng(seed, 6)
    data = tasks.temporal_order(train_size, rng=rng, n_relevant=n_relevant)
    test = tasks.temporal_order(test_size, rng=TEST_SEED + 6 + n_relevant, n_relevant=n_relevant)
    per_epoch = math.ceil(train_size / batch)
    order, cursor = [], [0]

    def next_batch():
        if cursor[0] == 0:                              # a new epoch: reshuffle
            order[:] = [rng.permutation(train_size)]
        idx = torch.as_tensor(order[0][cursor[0] * batch:(cursor[0] + 1) * batch])
        cursor[0] = (cursor[0] + 1) % per_epoch
        lengths = data.lengths[idx]
        return tasks.Batch(x=data.x[: int(lengths.max()), idx], y=data.y[idx], lengths=lengths)

    hist = tr.train(model, next_batch, tr.class_loss, epochs * per_epoch, lr=lr, clip=clip,
                    evaluate=lambda m: tr.classification_metrics(m, test),
                    eval_every=per_epoch, progress=progress)
    acc = hist["accuracy"]
    first = lambda thr: next((e for e, a in enumerate(acc) if a >= thr), None)  # noqa: E731
    record = {
        "cell": cell, "seed": seed, "n_relevant": n_relevant,
        "forget_bias": forget_bias if lstm else None, "input_bias": input_bias if lstm else None,
        "epoch_sequences": train_size, "epochs": list(range(len(acc))), "test_accuracy": acc,
        "best_accuracy": max(acc), "final_accuracy": acc[-1],
        "epochs_to_0.905": first(0.905), "epochs_to_0.957": first(0.957),
        "chance": 1 / 2 ** n_relevant, "parameters": sum(p.numel() for p in model.parameters()),
        "first_grad_norm": hist["first_grad_norm"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


def run_copy(cell="lstm", T=20, seed=0, hidden=64, batch=32, lr=0.01, clip=1.0,
             forget_bias=1.0, steps=2000, eval_every=50, test_size=500, length=10, alphabet=8,
             input_bias=None, progress=None, return_model=False):
    """The copy-memory task (:func:`lstm_lib.tasks.copy_memory`): cross-entropy per
    step against the memoryless baseline length ln(alphabet) / (T + 2 length)."""
    d = alphabet + 2
    lstm = cell == "lstm"
    model = tr.make_model(cell, d, hidden, d, readout="all",
                          forget_bias=forget_bias if lstm else None,
                          input_bias=input_bias if lstm else None, seed=seed)
    rng = _train_rng(seed, 3)
    test = tasks.copy_memory(T, test_size, rng=TEST_SEED + 3 * T, length=length, alphabet=alphabet)
    hist = tr.train(model, lambda: tasks.copy_memory(T, batch, rng, length=length, alphabet=alphabet),
                    tr.copy_loss, steps, lr=lr, clip=clip,
                    evaluate=lambda m: tr.copy_metrics(m, test, length=length),
                    eval_every=eval_every, progress=progress)
    record = {
        "cell": cell, "T": T, "seed": seed, "length": length, "alphabet": alphabet,
        "forget_bias": forget_bias if lstm else None, "input_bias": input_bias if lstm else None,
        "sequences": hist["sequences"], "test_ce": hist["ce"],
        "copy_accuracy": hist["copy_accuracy"],
        "baseline_ce": tasks.copy_baseline_ce(T, length, alphabet),
        "final_ce": hist["ce"][-1], "final_copy_accuracy": hist["copy_accuracy"][-1],
        "chance_accuracy": 1 / alphabet,
        "first_grad_norm": hist["first_grad_norm"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


ABLATION_ARMS = [(0.0, 1.0), (1.0, 1.0), (0.0, None), (1.0, None)]   # (forget_bias, clip)


def run_ablation(T=100, seeds=(0, 1, 2, 3, 4), arms=ABLATION_ARMS, progress=None, **adding):
    """Forget-gate bias 0 vs 1 and clipping on vs off: :func:`run_adding` for every
    (forget_bias, clip) arm and seed, LSTM only. Returns the list of runs."""
    return [run_adding("lstm", T, seed, forget_bias=fb, clip=clip, progress=progress, **adding)
            for fb, clip in arms for seed in seeds]


# --------------------------------------------------------------------------- summaries

def _spread(values):
    """Median, min, max and count of the numbers in ``values`` (None entries skipped)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return {"median": None, "min": None, "max": None, "n": 0, "of": len(values)}
    return {"median": float(np.median(vals)), "min": float(min(vals)),
            "max": float(max(vals)), "n": len(vals), "of": len(values)}


def summarize(experiment, runs):
    """Per model (or arm): median and range over seeds of the figures each run reports."""
    groups = {}
    for r in runs:
        if experiment == "ablation":
            clip = "clip" if r["clip"] is not None else "noclip"
            key = f"fb{r['forget_bias']:g}_{clip}"
        elif experiment == "exp4":
            key = "lstm"
        else:
            key = r["cell"]
        groups.setdefault(key, []).append(r)
    fields = {
        "adding": ["sequences_to_mse_0.01", "final_test_mse", "first_grad_norm"],
        "ablation": ["sequences_to_mse_0.01", "final_test_mse", "first_grad_norm",
                     "max_grad_norm", "fraction_clipped"],
        "exp4": ["sequences_to_criterion", "test_wrong", "first_grad_norm"],
        "order": ["best_accuracy", "final_accuracy", "epochs_to_0.905", "epochs_to_0.957"],
        "copy": ["final_ce", "final_copy_accuracy"],
    }[experiment]
    return {key: {f: _spread([r[f] for r in rs]) for f in fields} for key, rs in groups.items()}


# --------------------------------------------------------------------------- gates, read through the reference

def lstm_trace(model, x):
    """Every gate of a trained LSTM on inputs x (T, B, d), via the numpy reference.

    model: a :class:`lstm_lib.train.SequenceModel` with an LSTM, or an LSTM module
    (first layer). Returns ``reference.LSTMTrace`` (float64) with f, i, c_tilde, o,
    c, h of shape (T, B, n).
    """
    rnn = model.rnn if isinstance(model, tr.SequenceModel) else model
    params = lstm_params_from_torch(rnn, layer=0)
    return lstm_forward(params, x.detach().to(torch.float64).numpy())


def _corr(a, v):
    """Pearson correlation of each column of a (B, n) with v (B,); 0 for a constant column."""
    a = a - a.mean(0)
    v = v - v.mean()
    denom = np.sqrt((a ** 2).sum(0) * (v ** 2).sum())
    return np.where(denom > 0, (a * v[:, None]).sum(0) / np.where(denom > 0, denom, 1), 0.0)


def hold_statistics(trace, positions, values, write_threshold=0.5, hold_threshold=0.5):
    """What each unit's gates do with the first marked value of the adding problem.

    trace: the LSTMTrace of a batch of B adding-problem sequences; positions (B, 2):
    the marked steps p_1 < p_2 (0-based); values (B,): the first marked value v_1.

    A unit *writes* v_1 if the jump of its cell state at p_1, c_{p_1} - c_{p_1 - 1},
    correlates with v_1 across the batch with |r| >= ``write_threshold``. What it
    keeps of that write at the end is the carry-line factor prod_{t > p_1} f_t
    (Chapter 2); a writer *holds* v_1 if the median of that product over the batch
    is at least ``hold_threshold``.

    Returns a dict of per-unit lists (index j = unit): "write_correlation",
    "final_correlation" (c_T with v_1), "retained" (median carry-line product over
    the hold window p_1 < t <= T), "f_hold_median", "f_hold_min", "f_before_median"
    (steps t < p_1, before anything is stored), "i_marked_median" (input gate at p_1
    and p_2) and "i_unmarked_median"; plus "writers" and "holders" (unit indices),
    "f_min" (smallest forget gate anywhere) and "n_units", "n_sequences".
    """
    f, i, c = trace.f, trace.i, trace.c
    T, B, n = f.shape
    positions = np.asarray(positions)
    v1 = np.asarray(values, dtype=np.float64)
    if positions.shape != (B, 2) or v1.shape != (B,):
        raise ValueError(f"positions, values: expected shapes ({B}, 2) and ({B},), "
                         f"got {positions.shape} and {v1.shape}")
    rows = np.arange(B)
    p1, p2 = positions[:, 0], positions[:, 1]
    c_before = np.where((p1 > 0)[:, None], c[np.maximum(p1 - 1, 0), rows], trace.c0)
    write = _corr(c[p1, rows] - c_before, v1)                 # (n,)
    final = _corr(c[-1], v1)
    steps = np.arange(T)[:, None]
    hold = steps > p1[None, :]                                # (T, B): the hold window
    before = steps < p1[None, :]
    marked = np.zeros((T, B), dtype=bool)
    marked[p1, rows] = True
    marked[p2, rows] = True
    log_f = np.log(f)
    retained = np.median(np.exp((log_f * hold[:, :, None]).sum(0)), axis=0)   # (n,)
    writers = [int(j) for j in np.flatnonzero(np.abs(write) >= write_threshold)]
    holders = [j for j in writers if retained[j] >= hold_threshold]
    return {
        "n_units": int(n), "n_sequences": int(B),
        "write_threshold": write_threshold, "hold_threshold": hold_threshold,
        "write_correlation": write.tolist(), "final_correlation": final.tolist(),
        "retained": retained.tolist(),
        "f_hold_median": np.median(f[hold], axis=0).tolist(),
        "f_hold_min": f[hold].min(axis=0).tolist(),
        "f_before_median": (np.median(f[before], axis=0).tolist() if before.any()
                            else [float("nan")] * n),
        "i_marked_median": np.median(i[marked], axis=0).tolist(),
        "i_unmarked_median": np.median(i[~marked], axis=0).tolist(),
        "writers": writers, "holders": holders, "f_min": float(f.min()),
    }


# --------------------------------------------------------------------------- results files

def environment(argv):
    """What a results file records about how and where it was made."""
    env = R.environment("lstm_lib.lab", argv)
    env["machine"].update(torch_threads=torch.get_num_threads(), cpu=R.cpu_model())
    return env


_Parser, _positive_int, _positive_float = R.Parser, R.positive_int, R.positive_float


def _real(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _real_or_none(text):
    return None if text.lower() == "none" else _real(text)


def _clip(text):
    return None if text.lower() in ("none", "off") else _positive_float(text)


def _models(text):
    cells = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in cells if c not in tr.CELLS]
    if not cells or bad:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {tr.CELLS}, got {text!r}")
    return cells


def build_parser():
    parser = _Parser(prog="python -m lstm_lib.lab",
                     description="Run one of the lab's experiments over several seeds "
                                 "and write a JSON results file.")
    sub = parser.add_subparsers(dest="experiment", required=True, metavar="TASK",
                                parser_class=_Parser,
                                help="one of: " + ", ".join(EXPERIMENTS))

    def common(p, hidden, batch, lr, seeds, forget_bias=1.0, input_bias=None):
        p.add_argument("--out", required=True, type=Path, help="results file to write (JSON)")
        p.add_argument("--force", action="store_true", help="overwrite an existing results file")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--seeds", type=_positive_int, default=seeds, help="number of seeds: 0..N-1")
        p.add_argument("--hidden", type=_positive_int, default=hidden, help="hidden size n")
        p.add_argument("--batch", type=_positive_int, default=batch, help="sequences per batch")
        p.add_argument("--lr", type=_positive_float, default=lr, help="Adam's learning rate")
        p.add_argument("--clip", type=_clip, default=1.0,
                       help="clip the global gradient norm to this (or 'none')")
        p.add_argument("--forget-bias", type=_real, default=forget_bias,
                       help="the LSTM's initial effective forget bias b_f")
        p.add_argument("--input-bias", type=_real_or_none, default=input_bias,
                       help="the LSTM's initial effective input bias b_i "
                            "('none': PyTorch's uniform draw)")

    p = sub.add_parser("adding", help="LSTM vs tanh RNN on the adding problem")
    common(p, 16, 32, 0.02, 3)
    p.add_argument("--T", type=_positive_int, default=100, help="sequence length (>= 2)")
    p.add_argument("--models", type=_models, default=["lstm", "rnn"], help="e.g. lstm,rnn")
    p.add_argument("--steps", type=_positive_int, default=1500, help="training batches per run")
    p.add_argument("--eval-every", type=_positive_int, default=25)
    p.add_argument("--test-size", type=_positive_int, default=1000)
    p.add_argument("--stop-mse", type=_positive_float, default=None,
                   help="stop a run once its test MSE is below this")

    p = sub.add_parser("ablation", help="forget bias 0 vs 1, clipping on vs off (adding problem)")
    common(p, 16, 32, 0.02, 5)
    p.add_argument("--T", type=_positive_int, default=100, help="sequence length (>= 2)")
    p.add_argument("--steps", type=_positive_int, default=1500, help="training batches per run")
    p.add_argument("--eval-every", type=_positive_int, default=25)
    p.add_argument("--test-size", type=_positive_int, default=1000)
    p.add_argument("--stop-mse", type=_positive_float, default=0.01,
                   help="stop a run once its test MSE is below this")

    p = sub.add_parser("exp4", help="Hochreiter & Schmidhuber's Experiment 4, to their criterion")
    common(p, 16, 16, 0.01, 5, forget_bias=3.0, input_bias=-3.0)
    p.add_argument("--T", type=_positive_int, default=100, help="minimal sequence length (>= 20)")
    p.add_argument("--max-sequences", type=_positive_int, default=100_000)
    p.add_argument("--test-size", type=_positive_int, default=2560)

    p = sub.add_parser("order", help="temporal-order classification, accuracy per epoch")
    common(p, 32, 32, 0.01, 3)
    p.add_argument("--models", type=_models, default=["lstm", "rnn"], help="e.g. lstm,rnn")
    p.add_argument("--epochs", type=_positive_int, default=20)
    p.add_argument("--train-size", type=_positive_int, default=2000, help="sequences per epoch")
    p.add_argument("--test-size", type=_positive_int, default=1000)
    p.add_argument("--relevant", type=int, choices=(2, 3), default=2,
                   help="2: Experiment 6a (4 classes), 3: 6b (8 classes)")

    p = sub.add_parser("copy", help="copy memory: cross-entropy against the memoryless baseline")
    common(p, 64, 32, 0.01, 3)
    p.add_argument("--T", type=_positive_int, default=20, help="blank gap (total length T + 2 length)")
    p.add_argument("--models", type=_models, default=["lstm", "rnn"], help="e.g. lstm,rnn")
    p.add_argument("--steps", type=_positive_int, default=2000)
    p.add_argument("--eval-every", type=_positive_int, default=50)
    p.add_argument("--test-size", type=_positive_int, default=500)
    p.add_argument("--length", type=_positive_int, default=10, help="symbols to copy")
    p.add_argument("--alphabet", type=_positive_int, default=8, help="distinct symbols")
    return parser


def _check_task_args(parser, args):
    e = args.experiment
    if e in ("adding", "ablation") and args.T < 2:
        parser.error(f"--T: the adding problem needs T >= 2, got {args.T}")
    if e == "exp4" and args.T < 20:
        parser.error(f"--T: Experiment 4 needs T >= 20 (ten first pairs, then T/2), got {args.T}")
    if args.forget_bias != 1.0 and e == "ablation":
        parser.error("--forget-bias: the ablation sets the forget bias itself (0 and 1)")
    if e == "ablation" and args.clip is None:
        parser.error("--clip: the ablation compares clipping at this value with none; give a number")


def _progress(total, enabled, desc):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="batch", leave=False, dynamic_ncols=True)


def _run_all(args, bar_on):
    """Run every seed (and model or arm) of the experiment; return (config, runs)."""
    e, seeds = args.experiment, list(range(args.seeds))
    base = {"hidden": args.hidden, "batch": args.batch, "lr": args.lr, "clip": args.clip,
            "input_bias": args.input_bias}
    if e == "adding":
        cfg = dict(base, forget_bias=args.forget_bias, steps=args.steps,
                   eval_every=args.eval_every, test_size=args.test_size, stop_mse=args.stop_mse)
        jobs = [(run_adding, dict(cfg, cell=c, T=args.T, seed=s), args.steps)
                for c in args.models for s in seeds]
        config = dict(cfg, T=args.T, models=args.models, seeds=seeds)
    elif e == "ablation":
        cfg = dict(base, steps=args.steps, eval_every=args.eval_every, test_size=args.test_size,
                   stop_mse=args.stop_mse)
        jobs = [(run_adding, dict(cfg, cell="lstm", T=args.T, seed=s, forget_bias=fb,
                                  clip=(args.clip if clip else None)), args.steps)
                for fb, clip in ABLATION_ARMS for s in seeds]
        config = dict(cfg, T=args.T, seeds=seeds,
                      arms=[{"forget_bias": fb, "clip": args.clip if c else None}
                            for fb, c in ABLATION_ARMS])
    elif e == "exp4":
        cfg = dict(base, forget_bias=args.forget_bias, max_sequences=args.max_sequences,
                   test_size=args.test_size)
        steps = math.ceil(args.max_sequences / args.batch)
        jobs = [(run_exp4, dict(cfg, T=args.T, seed=s), steps) for s in seeds]
        config = dict(cfg, T=args.T, seeds=seeds, window=2000, tol=0.04)
    elif e == "order":
        cfg = dict(base, forget_bias=args.forget_bias, epochs=args.epochs,
                   train_size=args.train_size, test_size=args.test_size,
                   n_relevant=args.relevant)
        steps = args.epochs * math.ceil(args.train_size / args.batch)
        jobs = [(run_order, dict(cfg, cell=c, seed=s), steps) for c in args.models for s in seeds]
        config = dict(cfg, models=args.models, seeds=seeds)
    else:  # copy
        cfg = dict(base, forget_bias=args.forget_bias, steps=args.steps,
                   eval_every=args.eval_every, test_size=args.test_size,
                   length=args.length, alphabet=args.alphabet)
        jobs = [(run_copy, dict(cfg, cell=c, T=args.T, seed=s), args.steps)
                for c in args.models for s in seeds]
        config = dict(cfg, T=args.T, models=args.models, seeds=seeds)
    bar = _progress(sum(j[2] for j in jobs), bar_on, e)
    runs = []
    try:
        for fn, kwargs, _ in jobs:
            if bar is not None:
                label = kwargs.get("cell", "lstm")
                bar.set_description(f"{e} {label} seed {kwargs['seed']}")
            runs.append(fn(progress=bar, **kwargs))
    finally:
        if bar is not None:
            bar.close()
    return config, runs


def main(argv=None):
    """Entry point of ``python -m lstm_lib.lab``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    sub = parser._subparsers._group_actions[0].choices[args.experiment]
    _check_task_args(sub, args)
    R.check_out(sub, args.out, args.force)
    bar_on = R.progress_enabled(args.quiet)
    tr.set_deterministic(1)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        config, runs = _run_all(args, bar_on)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; nothing written", file=sys.stderr)
        return 130
    result = {"schema": SCHEMA, "experiment": args.experiment, **environment(argv),
              "seconds": round(time.perf_counter() - start, 1),
              "cpu_seconds": round(time.process_time() - cpu_start, 1),
              "config": config, "summary": summarize(args.experiment, runs), "runs": runs}
    if args.out.exists() and not args.force:
        print(f"{parser.prog}: error: --out: {args.out} appeared while running; "
              f"pass --force to overwrite it", file=sys.stderr)
        return 2
    R.write_json(args.out, result)
    if not args.quiet:
        print(f"wrote {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
