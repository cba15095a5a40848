"""The lab's experiments: each trains lstm_lib's LSTM (or RNN) on a task and returns a record.

Each experiment is a function of one seed and its settings that trains
``lstm_lib.modules.LSTM`` or ``RNN`` (through :mod:`lstm_lib.lab.train`) and
returns a plain dict, ready for JSON. The settings and their defaults are one
table, :data:`DEFAULTS`: the functions read it, the command line
(:mod:`lstm_lib.lab.cli`) offers each entry as a flag with the same default,
and the benchmark reads the lab's shapes from it. Change a default here and
all three follow. Beside it, :data:`LIMITS` holds each setting's range, which
the functions and the command line both enforce, and :func:`memory_estimate`
what a run would need: a run estimated at more than half of the machine's
memory is refused before it allocates anything (:func:`check_memory`).
"""
from __future__ import annotations

import inspect
import math
import numbers
from types import SimpleNamespace

import numpy as np
import torch

from . import results as R
from . import tasks
from . import train as tr

SCHEMA = "lstm_lib.lab/1"
TEST_SEED = 2**20        # the test sets are the same for every seed and model
EXPERIMENTS = ("adding", "exp4", "order", "copy", "ablation")

_TRAINING = dict(clip=1.0, forget_bias=1.0, input_bias=None)
_ADDING = dict(_TRAINING, T=100, hidden=16, batch=32, lr=0.02, steps=1500, eval_every=25,
               test_size=1000, stop_mse=None)

#: Every experiment's settings and their defaults (the command line's flags are these names
#: with "-" for "_"; ``n_relevant`` is ``--relevant``).
DEFAULTS = {
    "adding": _ADDING,
    "ablation": dict(_ADDING, stop_mse=0.01),
    "exp4": dict(_TRAINING, T=100, hidden=16, batch=16, lr=0.01, forget_bias=3.0,
                 input_bias=-3.0, max_sequences=100_000, test_size=2560),
    "order": dict(_TRAINING, hidden=32, batch=32, lr=0.01, epochs=20, train_size=2000,
                  test_size=1000, n_relevant=2),
    "copy": dict(_TRAINING, T=20, hidden=64, batch=32, lr=0.01, steps=2000, eval_every=50,
                 test_size=500, length=10, alphabet=8),
}

#: How many seeds (0..N-1) the command line and :func:`run_ablation` run by default.
SEEDS = {"adding": 3, "ablation": 5, "exp4": 5, "order": 3, "copy": 3}

# Ranges: what a run on one machine can use. Integers are inclusive [low, high]; for the
# numbers marked open, low itself is excluded (a learning rate of 0 learns nothing).
_INT, _REAL, _OPEN = "integer", "number", "open"
_RANGES = {
    "T": (_INT, 1, 100_000), "hidden": (_INT, 1, 4096), "batch": (_INT, 1, 65_536),
    "lr": (_OPEN, 0, 10), "clip": (_OPEN, 0, 1_000_000), "forget_bias": (_REAL, -100, 100),
    "input_bias": (_REAL, -100, 100), "steps": (_INT, 1, 10_000_000),
    "eval_every": (_INT, 1, 10_000_000), "test_size": (_INT, 1, 1_000_000),
    "stop_mse": (_OPEN, 0, 100), "max_sequences": (_INT, 1, 1_000_000_000),
    "epochs": (_INT, 1, 100_000), "train_size": (_INT, 1, 10_000_000),
    "length": (_INT, 1, 10_000), "alphabet": (_INT, 2, 1000), "n_relevant": (_INT, 2, 3),
    "seeds": (_INT, 1, 1000),
}
_LOWEST_T = {"adding": 2, "ablation": 2, "exp4": 20, "copy": 1}    # the tasks' own minimum

#: The range of every setting of :data:`DEFAULTS` (and of the number of seeds), per
#: experiment: ``(kind, low, high)``, kind "integer", "number" or "open" (a number > low).
#: ``clip``, ``input_bias`` and ``stop_mse`` may also be None. :func:`settings` (so every
#: ``run_*`` function) and the command line refuse anything outside.
LIMITS = {e: {name: (_RANGES["T"][0], _LOWEST_T[e], _RANGES["T"][2]) if name == "T"
              else _RANGES[name] for name in [*DEFAULTS[e], "seeds"]} for e in DEFAULTS}
_MAY_BE_NONE = ("clip", "input_bias", "stop_mse")

#: The ablation's arms: (forget_bias, clip), clip None meaning no clipping.
ABLATION_ARMS = [(0.0, 1.0), (1.0, 1.0), (0.0, None), (1.0, None)]

__all__ = ["run_adding", "run_exp4", "run_order", "run_copy", "run_ablation", "summarize",
           "settings", "out_of_range", "memory_estimate", "check_memory", "DEFAULTS", "SEEDS",
           "LIMITS", "ABLATION_ARMS", "EXPERIMENTS", "SCHEMA"]


def out_of_range(experiment, name, value):
    """Why ``value`` is no good for setting ``name`` of ``experiment`` (see :data:`LIMITS`),
    e.g. "expected an integer in [1, 4096], got 100000"; None if it is fine."""
    kind, low, high = LIMITS[experiment][name]
    if value is None and name in _MAY_BE_NONE:
        return None
    if kind == _INT:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) \
            and low <= value <= high
        return None if ok else f"expected an integer in [{low}, {high}], got {value!r}"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) \
        and (low < value if kind == _OPEN else low <= value) and value <= high
    interval = f"({low}, {high}]" if kind == _OPEN else f"[{low}, {high}]"
    return None if ok else f"expected a number in {interval}, got {value!r}"


def settings(experiment, **overrides) -> SimpleNamespace:
    """The settings of one run: ``DEFAULTS[experiment]`` with ``overrides``.

    An unknown name is a TypeError, as it would be for a function's keyword; a
    value outside its range (:data:`LIMITS`) is a ValueError that names it.
    """
    if experiment not in DEFAULTS:
        raise ValueError(f"experiment: expected one of {EXPERIMENTS}, got {experiment!r}")
    unknown = sorted(set(overrides) - set(DEFAULTS[experiment]))
    if unknown:
        raise TypeError(f"{experiment}: unknown setting(s) {unknown}; "
                        f"expected some of {sorted(DEFAULTS[experiment])}")
    for name, value in overrides.items():
        why = out_of_range(experiment, name, value)
        if why:
            raise ValueError(f"{name}: {why}")
    return SimpleNamespace(**{**DEFAULTS[experiment], **overrides})


# --------------------------------------------------------------------------- memory

_BASE_BYTES = 600 * 2**20      # the interpreter, numpy and torch, before any tensor


def memory_estimate(experiment, **overrides) -> int:
    """Bytes one run of ``experiment`` needs at its peak, estimated from its settings.

    Counted: the test set (and the order task's training set), kept for the
    whole run, and their generation in float64 numpy; a training step of the
    LSTM in float32 (the fast path keeps 11 numbers per step, example and
    hidden unit for its backward pass, which adds about 19 more), the readout
    and its loss; an evaluation over the test set; the parameters with their
    gradients and Adam's two moments; and the interpreter with torch. The RNN
    needs less, so a run of both models is counted as the LSTM's.
    ``tests/lab/test_experiments.py`` checks the estimate against a measured run.
    """
    s = settings(experiment, **overrides)
    n = s.hidden
    if experiment in ("adding", "ablation", "exp4"):
        L = s.T + (s.T // 10 if experiment == "exp4" else 0)
        d, out, gen, keep, head = 2, 1, 48, 8, 0           # bytes per step and sequence
    elif experiment == "order":
        L = inspect.signature(tasks.temporal_order).parameters["max_length"].default
        d, out, gen, keep, head = len(tasks.ORDER_SYMBOLS), 2 ** s.n_relevant, 56, 40, 0
    else:                                                   # copy: one-hot in, logits out
        L = s.T + 2 * s.length
        d = out = s.alphabet + 2
        gen = keep = 16 + 4 * d
        head = 16 * out
    kept_sequences = s.test_size + (s.train_size if experiment == "order" else 0)
    train_step = L * s.batch * (gen + 4 * (30 * n + 3 * d) + head)
    evaluation = L * s.test_size * (4 * 16 * n + head)
    generation = L * max(s.test_size, getattr(s, "train_size", 0)) * gen
    parameters = 4 * 4 * (4 * n * (d + n + 2) + (n + 1) * out)
    return int(_BASE_BYTES + parameters + L * kept_sequences * keep
               + max(train_step, evaluation, generation))


def _gb(nbytes):
    gb = nbytes / 1e9
    return f"{gb:,.0f} GB" if gb >= 10 else f"{gb:.2g} GB"


def check_memory(experiment, total, **overrides):
    """Refuse (MemoryError) a run whose :func:`memory_estimate` is more than half of
    ``total`` bytes (the machine's memory; None: unknown, nothing refused)."""
    need = memory_estimate(experiment, **overrides)
    if total is not None and need > total / 2:
        raise MemoryError(f"this {experiment} run would need about {_gb(need)} of memory "
                          f"(an estimate), more than half of this machine's {_gb(total)}")
    return need


def _train_rng(seed, stream):
    """The training-data generator of one run: depends on the seed and the task only."""
    return np.random.default_rng([seed, stream])


def _lstm_only(cell, value):
    return value if cell == "lstm" else None


# --------------------------------------------------------------------------- experiments

def run_adding(cell="lstm", seed=0, *, progress=None, return_model=False, **overrides):
    """The adding problem (:func:`lstm_lib.lab.tasks.adding_problem`): test MSE against
    sequences seen, on one fixed test set of ``test_size`` sequences.

    Settings (``DEFAULTS["adding"]``): T, hidden, batch, lr, clip, forget_bias,
    input_bias, steps, eval_every, test_size, stop_mse (stop at the first
    evaluation with test MSE below it; None: run all steps). The biases apply
    to the LSTM only. Returns a dict (and the model if asked).
    """
    s = settings("adding", **overrides)
    check_memory("adding", R.memory_total(), **overrides)
    model = tr.make_model(cell, 2, s.hidden, 1, forget_bias=_lstm_only(cell, s.forget_bias),
                          input_bias=_lstm_only(cell, s.input_bias), seed=seed)
    rng = _train_rng(seed, 1)
    test = tasks.adding_problem(s.T, s.test_size, rng=TEST_SEED + s.T)
    hist = tr.train(model, lambda: tasks.adding_problem(s.T, s.batch, rng), tr.mse_loss, s.steps,
                    lr=s.lr, clip=s.clip, evaluate=lambda m: tr.regression_metrics(m, test),
                    eval_every=s.eval_every,
                    stop_when=None if s.stop_mse is None else (lambda m: m["mse"] < s.stop_mse),
                    progress=progress)
    record = {
        "cell": cell, "T": s.T, "seed": seed, "forget_bias": _lstm_only(cell, s.forget_bias),
        "input_bias": _lstm_only(cell, s.input_bias),
        "clip": s.clip, "sequences": hist["sequences"], "test_mse": hist["mse"],
        "sequences_to_mse_0.01": tr.first_crossing(hist, "mse", 0.01),
        "final_test_mse": hist["mse"][-1], "baseline_mse": tasks.adding_baseline_mse(),
        "first_grad_norm": hist["first_grad_norm"],
        "max_grad_norm": max(hist["grad_norm"]),
        "fraction_clipped": (float(np.mean(np.asarray(hist["grad_norm"]) > s.clip))
                             if s.clip is not None else 0.0),
        "steps_run": hist["steps_run"], "sequences_seen": hist["sequences_seen"],
        "stopped": hist["stopped"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


def run_exp4(seed=0, *, progress=None, return_model=False, **overrides):
    """Hochreiter and Schmidhuber's Experiment 4, on their terms.

    Sequences from :func:`lstm_lib.lab.tasks.hochreiter_adding`; training stops when
    :class:`lstm_lib.lab.tasks.SuccessCriterion` is met (each of the last 2,000
    training sequences within 0.04, judged when it was trained on), or after
    ``max_sequences``. Then ``test_size`` (2,560, as in the paper) fresh
    sequences are scored with the same 0.04 test. The defaults
    (``DEFAULTS["exp4"]``) start the gates where the 1997 cell worked: input
    gate nearly shut (b_i = -3, their remedy against drift) and forget gate
    nearly open (b_f = 3, f about 0.95; the 1997 cell had no forget gate, f = 1).
    """
    s = settings("exp4", **overrides)
    check_memory("exp4", R.memory_total(), **overrides)
    model = tr.make_model("lstm", 2, s.hidden, 1, forget_bias=s.forget_bias,
                          input_bias=s.input_bias, seed=seed)
    rng = _train_rng(seed, 4)
    criterion = tasks.SuccessCriterion(window=2000, tol=0.04, mse=0.01)
    steps = math.ceil(s.max_sequences / s.batch)
    hist = tr.train(model, lambda: tasks.hochreiter_adding(s.T, s.batch, rng), tr.mse_loss,
                    steps, lr=s.lr, clip=s.clip,
                    on_batch=lambda b, out: criterion.update(out, b.y), progress=progress)
    test = tasks.hochreiter_adding(s.T, s.test_size, rng=TEST_SEED + 4 * s.T)
    with torch.no_grad():
        model.eval()
        wrong = int((~tasks.hochreiter_correct(model(test.x, test.lengths).squeeze(-1),
                                               test.y)).sum())
    met = hist["stopped"] == "on_batch"
    record = {
        "T": s.T, "seed": seed, "forget_bias": s.forget_bias, "input_bias": s.input_bias,
        "clip": s.clip, "criterion_met": met,
        "sequences_to_criterion": criterion.seen if met else None,
        "sequences_seen": hist["sequences_seen"],
        "fraction_correct_last_window": criterion.fraction_correct,
        "test_wrong": wrong, "test_size": s.test_size,
        "first_grad_norm": hist["first_grad_norm"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


def run_order(cell="lstm", seed=0, *, progress=None, return_model=False, **overrides):
    """The temporal-order problem (:func:`lstm_lib.lab.tasks.temporal_order`) as classification.

    One epoch is one pass, in a fresh random order, over a fixed training set
    of ``train_size`` sequences, in batches of ``batch``. Test accuracy on a fixed
    set of ``test_size`` sequences is measured before training and after each epoch.
    Settings: ``DEFAULTS["order"]``.
    """
    s = settings("order", **overrides)
    check_memory("order", R.memory_total(), **overrides)
    model = tr.make_model(cell, len(tasks.ORDER_SYMBOLS), s.hidden, 2 ** s.n_relevant,
                          forget_bias=_lstm_only(cell, s.forget_bias),
                          input_bias=_lstm_only(cell, s.input_bias), seed=seed)
    rng = _train_rng(seed, 6)
    data = tasks.temporal_order(s.train_size, rng=rng, n_relevant=s.n_relevant)
    test = tasks.temporal_order(s.test_size, rng=TEST_SEED + 6 + s.n_relevant,
                                n_relevant=s.n_relevant)
    per_epoch = math.ceil(s.train_size / s.batch)
    order, cursor = [], [0]

    def next_batch():
        if cursor[0] == 0:                              # a new epoch: reshuffle
            order[:] = [rng.permutation(s.train_size)]
        idx = torch.as_tensor(order[0][cursor[0] * s.batch:(cursor[0] + 1) * s.batch])
        cursor[0] = (cursor[0] + 1) % per_epoch
        lengths = data.lengths[idx]
        return tasks.Batch(x=data.x[: int(lengths.max()), idx], y=data.y[idx], lengths=lengths)

    hist = tr.train(model, next_batch, tr.class_loss, s.epochs * per_epoch, lr=s.lr, clip=s.clip,
                    evaluate=lambda m: tr.classification_metrics(m, test),
                    eval_every=per_epoch, progress=progress)
    acc = hist["accuracy"]
    first = lambda thr: next((e for e, a in enumerate(acc) if a >= thr), None)  # noqa: E731
    record = {
        "cell": cell, "seed": seed, "n_relevant": s.n_relevant,
        "forget_bias": _lstm_only(cell, s.forget_bias),
        "input_bias": _lstm_only(cell, s.input_bias),
        "epoch_sequences": s.train_size, "epochs": list(range(len(acc))), "test_accuracy": acc,
        "best_accuracy": max(acc), "final_accuracy": acc[-1],
        "epochs_to_0.905": first(0.905), "epochs_to_0.957": first(0.957),
        "chance": 1 / 2 ** s.n_relevant,
        "parameters": sum(p.numel() for p in model.parameters()),
        "first_grad_norm": hist["first_grad_norm"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


def run_copy(cell="lstm", seed=0, *, progress=None, return_model=False, **overrides):
    """The copy-memory task (:func:`lstm_lib.lab.tasks.copy_memory`): cross-entropy per
    step against the memoryless baseline length ln(alphabet) / (T + 2 length).
    Settings: ``DEFAULTS["copy"]``."""
    s = settings("copy", **overrides)
    check_memory("copy", R.memory_total(), **overrides)
    d = s.alphabet + 2
    model = tr.make_model(cell, d, s.hidden, d, readout="all",
                          forget_bias=_lstm_only(cell, s.forget_bias),
                          input_bias=_lstm_only(cell, s.input_bias), seed=seed)
    rng = _train_rng(seed, 3)
    test = tasks.copy_memory(s.T, s.test_size, rng=TEST_SEED + 3 * s.T, length=s.length,
                             alphabet=s.alphabet)
    hist = tr.train(model, lambda: tasks.copy_memory(s.T, s.batch, rng, length=s.length,
                                                     alphabet=s.alphabet),
                    tr.copy_loss, s.steps, lr=s.lr, clip=s.clip,
                    evaluate=lambda m: tr.copy_metrics(m, test, length=s.length),
                    eval_every=s.eval_every, progress=progress)
    record = {
        "cell": cell, "T": s.T, "seed": seed, "length": s.length, "alphabet": s.alphabet,
        "forget_bias": _lstm_only(cell, s.forget_bias),
        "input_bias": _lstm_only(cell, s.input_bias),
        "sequences": hist["sequences"], "test_ce": hist["ce"],
        "copy_accuracy": hist["copy_accuracy"],
        "baseline_ce": tasks.copy_baseline_ce(s.T, s.length, s.alphabet),
        "final_ce": hist["ce"][-1], "final_copy_accuracy": hist["copy_accuracy"][-1],
        "chance_accuracy": 1 / s.alphabet,
        "first_grad_norm": hist["first_grad_norm"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


def run_ablation(seeds=None, arms=ABLATION_ARMS, *, progress=None, **overrides):
    """Forget-gate bias 0 vs 1 and clipping on vs off: :func:`run_adding` for every
    (forget_bias, clip) arm and seed (0..SEEDS["ablation"]-1 by default), LSTM only.
    Settings: ``DEFAULTS["ablation"]`` (the adding problem's, stopping at MSE 0.01).
    Returns the list of runs."""
    s = vars(settings("ablation", **overrides))
    seeds = range(SEEDS["ablation"]) if seeds is None else seeds
    return [run_adding("lstm", seed, progress=progress, **dict(s, forget_bias=fb, clip=clip))
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
