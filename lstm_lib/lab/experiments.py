"""The lab's experiments: each trains lstm_lib's LSTM (or RNN) on a task and returns a record.

Each experiment is a function of one seed and its settings that trains
``lstm_lib.modules.LSTM`` or ``RNN`` (through :mod:`lstm_lib.lab.train`) and
returns a plain dict, ready for JSON. The settings and their defaults are one
table, :data:`DEFAULTS`: the functions read it, the command line
(:mod:`lstm_lib.lab.cli`) offers each entry as a flag with the same default,
and the benchmark reads the lab's shapes from it. Change a default here and
all three follow.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import torch

from . import seq2seq, tasks
from . import train as tr

SCHEMA = "lstm_lib.lab/1"
TEST_SEED = 2**20        # the test sets are the same for every seed and model
EXPERIMENTS = ("adding", "exp4", "order", "copy", "ablation", "bottleneck")

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
    "bottleneck": dict(clip=1.0, forget_bias=1.0, hidden=8, lengths=[4, 6, 8, 9, 10, 12, 16],
                       values=2, batch=256, lr=0.01, steps=4000, eval_every=100,
                       test_size=1000, stop_accuracy=0.99),
}

#: How many seeds (0..N-1) the command line and :func:`run_ablation` run by default.
SEEDS = {"adding": 3, "ablation": 5, "exp4": 5, "order": 3, "copy": 3, "bottleneck": 3}

#: The ablation's arms: (forget_bias, clip), clip None meaning no clipping.
ABLATION_ARMS = [(0.0, 1.0), (1.0, 1.0), (0.0, None), (1.0, None)]

__all__ = ["run_adding", "run_exp4", "run_order", "run_copy", "run_ablation", "run_recall",
           "run_bottleneck", "summarize",
           "settings", "DEFAULTS", "SEEDS", "ABLATION_ARMS", "EXPERIMENTS", "SCHEMA"]


def settings(experiment, **overrides) -> SimpleNamespace:
    """The settings of one run: ``DEFAULTS[experiment]`` with ``overrides``.

    An unknown name is a TypeError, as it would be for a function's keyword.
    """
    unknown = sorted(set(overrides) - set(DEFAULTS[experiment]))
    if unknown:
        raise TypeError(f"{experiment}: unknown setting(s) {unknown}; "
                        f"expected some of {sorted(DEFAULTS[experiment])}")
    return SimpleNamespace(**{**DEFAULTS[experiment], **overrides})


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


def run_recall(model="bottleneck", L=8, seed=0, *, progress=None, return_model=False,
               **overrides):
    """Associative recall (:func:`lstm_lib.lab.tasks.associative_recall`) with L pairs, learned
    by an encoder-decoder (:mod:`lstm_lib.lab.seq2seq`): "bottleneck" (the decoder starts from
    the encoder's last hidden state, n numbers, and sees nothing else) or "attention" (the
    same, plus dot-product attention over every encoder state).

    Every ``eval_every`` batches, on one fixed set of ``test_size`` sequences: the
    accuracy (fraction of questions answered right) and the sequence accuracy
    (fraction of sequences with every answer right). Training stops at the first
    evaluation with sequence accuracy >= ``stop_accuracy`` (the run then counts as
    solved), or after ``steps`` batches. Settings: ``DEFAULTS["bottleneck"]`` (its ``lengths``
    are :func:`run_bottleneck`'s; here the length is ``L``).
    """
    s = settings("bottleneck", **overrides)
    L = int(L)
    net = seq2seq.make_encoder_decoder(model, L, s.values, s.hidden, forget_bias=s.forget_bias,
                                       seed=seed)
    rng = _train_rng(seed, 900 + L)
    test = tasks.associative_recall(L, s.test_size, rng=TEST_SEED + 9000 + L, values=s.values)
    hist = tr.train(net, lambda: tasks.associative_recall(L, s.batch, rng, values=s.values),
                    seq2seq.recall_loss, s.steps, lr=s.lr, clip=s.clip,
                    evaluate=lambda m: seq2seq.recall_metrics(m, test), eval_every=s.eval_every,
                    stop_when=lambda m: m["sequence_accuracy"] >= s.stop_accuracy,
                    progress=progress)
    acc, seq = hist["accuracy"], hist["sequence_accuracy"]
    record = {
        "model": model, "L": L, "seed": seed, "hidden": s.hidden, "values": s.values,
        "bits": tasks.recall_bits(L, s.values), "sequences": hist["sequences"],
        "test_accuracy": acc, "test_sequence_accuracy": seq,
        "final_accuracy": acc[-1], "final_sequence_accuracy": seq[-1],
        "best_sequence_accuracy": max(seq), "best_accuracy": max(acc),
        "solved": max(seq) >= s.stop_accuracy,
        "sequences_to_solve": tr.first_crossing(hist, "sequence_accuracy",
                                                s.stop_accuracy - 1e-12, below=False),
        "parameters": sum(p.numel() for p in net.parameters()),
        "steps_run": hist["steps_run"], "first_grad_norm": hist["first_grad_norm"],
        "seconds": round(hist["seconds"], 2),
    }
    if model == "attention":                  # what the trained decoder reads, for one sequence
        with torch.no_grad():
            net.eval()
            one = tasks.associative_recall(L, 1, rng=TEST_SEED + 9000 + L, values=s.values)
            _, weights = net(*seq2seq.split_recall(one), return_weights=True)
        record["attention_example"] = {
            "keys": one.meta["keys"][:, 0].tolist(), "queries": one.meta["queries"][:, 0].tolist(),
            "weights": [[round(float(w), 4) for w in row] for row in weights[0]]}
    return (record, net) if return_model else record


def run_bottleneck(model="bottleneck", seed=0, *, progress=None, **overrides):
    """:func:`run_recall` at every length of ``lengths`` (``DEFAULTS["bottleneck"]``), one seed.

    Returns one record: the model, seed and settings, per length (in the order of
    ``lengths``) the best and final accuracy, whether it was solved and after how
    many sequences, and ``longest_solved``: the longest L such that it and every
    shorter length of the list were solved (0 if the shortest was not).
    """
    s = settings("bottleneck", **overrides)
    lengths = sorted(set(int(L) for L in s.lengths))
    runs = [run_recall(model, L, seed, progress=progress, **overrides) for L in lengths]
    longest = 0
    for r in runs:
        if not r["solved"]:
            break
        longest = r["L"]
    return {
        "model": model, "seed": seed, "hidden": s.hidden, "values": s.values,
        "stop_accuracy": s.stop_accuracy, "lengths": lengths,
        "best_accuracy": [r["best_accuracy"] for r in runs],
        "best_sequence_accuracy": [r["best_sequence_accuracy"] for r in runs],
        "final_accuracy": [r["final_accuracy"] for r in runs],
        "solved": [r["solved"] for r in runs],
        "sequences_to_solve": [r["sequences_to_solve"] for r in runs],
        "longest_solved": longest, "per_length": runs,
        "seconds": round(sum(r["seconds"] for r in runs), 2),
    }


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
    if experiment == "bottleneck":
        return _summarize_bottleneck(runs)
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


def _summarize_bottleneck(runs):
    """Per model: the longest length solved, and the best accuracy at each length, over seeds."""
    groups = {}
    for r in runs:
        groups.setdefault(r["model"], []).append(r)
    out = {}
    for model, rs in groups.items():
        out[model] = {"longest_solved": _spread([r["longest_solved"] for r in rs])}
        for k, L in enumerate(rs[0]["lengths"]):
            out[model][f"best_sequence_accuracy_L{L}"] = _spread(
                [r["best_sequence_accuracy"][k] for r in rs])
            out[model][f"best_accuracy_L{L}"] = _spread([r["best_accuracy"][k] for r in rs])
    return out
