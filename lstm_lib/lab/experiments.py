"""The lab's experiments: each trains lstm_lib's LSTM (or GRU, or RNN) on a task and returns a record.

Each experiment is a function of one seed and its settings that trains
``lstm_lib.modules.LSTM``, ``GRU`` or ``RNN`` (through :mod:`lstm_lib.lab.train`) and
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

import hashlib
import inspect
import io
import math
import numbers
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from . import charlm as lm
from . import corpus as text
from . import results as R
from . import seq2seq, tasks
from . import train as tr

SCHEMA = "lstm_lib.lab/1"
TEST_SEED = 2**20        # the test sets are the same for every seed and model
EXPERIMENTS = ("adding", "exp4", "order", "copy", "ablation", "truncation", "charlm", "bottleneck")

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
    # full BPTT against each truncation length in `truncate` (chunks of k steps); T/2 = 50
    # reaches every second marked value and no first one
    "truncation": dict(_ADDING, stop_mse=0.01, truncate=(50,)),
    "charlm": dict(_TRAINING, T=100, hidden=128, batch=32, lr=0.04, lr_final=4e-4, steps=1500,
                   eval_every=100),
    "bottleneck": dict(clip=1.0, forget_bias=1.0, hidden=8, lengths=[4, 6, 8, 9, 10, 12, 16],
                       values=2, batch=256, lr=0.01, steps=4000, eval_every=100,
                       test_size=1000, stop_accuracy=0.99),
}

#: How many seeds (0..N-1) the command line and :func:`run_ablation` run by default.
SEEDS = {"adding": 3, "ablation": 5, "exp4": 5, "order": 3, "copy": 3, "truncation": 3,
         "charlm": 1, "bottleneck": 3}

# Ranges: what a run on one machine can use. Integers are inclusive [low, high]; for the
# numbers marked open, low itself is excluded (a learning rate of 0 learns nothing);
# "integers" is a non-empty list of integers, each in [low, high].
_INT, _REAL, _OPEN, _INTS = "integer", "number", "open", "integers"
_RANGES = {
    "T": (_INT, 1, 100_000), "hidden": (_INT, 1, 4096), "batch": (_INT, 1, 65_536),
    "lr": (_OPEN, 0, 10), "clip": (_OPEN, 0, 1_000_000), "forget_bias": (_REAL, -100, 100),
    "input_bias": (_REAL, -100, 100), "steps": (_INT, 1, 10_000_000),
    "eval_every": (_INT, 1, 10_000_000), "test_size": (_INT, 1, 1_000_000),
    "stop_mse": (_OPEN, 0, 100), "max_sequences": (_INT, 1, 1_000_000_000),
    "epochs": (_INT, 1, 100_000), "train_size": (_INT, 1, 10_000_000),
    "length": (_INT, 1, 10_000), "alphabet": (_INT, 2, 1000), "n_relevant": (_INT, 2, 3),
    "lr_final": (_OPEN, 0, 10), "seeds": (_INT, 1, 1000),
    "lengths": (_INTS, 1, 10_000), "values": (_INT, 2, 1000), "stop_accuracy": (_OPEN, 0, 1),
    "truncate": (_INTS, 1, 100_000),
}
_LOWEST_T = {"adding": 2, "ablation": 2, "exp4": 20, "copy": 1, "truncation": 2,
             "charlm": 2}                                     # the tasks' own minimum

#: The range of every setting of :data:`DEFAULTS` (and of the number of seeds), per
#: experiment: ``(kind, low, high)``, kind "integer", "number", "open" (a number > low)
#: or "integers" (a non-empty list of integers).
#: ``clip``, ``input_bias`` and ``stop_mse`` may also be None. :func:`settings` (so every
#: ``run_*`` function) and the command line refuse anything outside.
LIMITS = {e: {name: (_RANGES["T"][0], _LOWEST_T[e], _RANGES["T"][2]) if name == "T"
              else _RANGES[name] for name in [*DEFAULTS[e], "seeds"]} for e in DEFAULTS}
_MAY_BE_NONE = ("clip", "input_bias", "stop_mse", "forget_bias")

#: The experiments :func:`memory_estimate` knows (charlm's model and corpus have fixed sizes;
#: the bottleneck's models are tiny).
MEMORY_ESTIMATED = ("adding", "ablation", "exp4", "order", "copy")

#: The ablation's arms: (forget_bias, clip), clip None meaning no clipping.
ABLATION_ARMS = [(0.0, 1.0), (1.0, 1.0), (0.0, None), (1.0, None)]

__all__ = ["run_adding", "run_exp4", "run_order", "run_copy", "run_ablation", "run_truncation",
           "run_charlm", "cosine_lr", "run_recall", "run_bottleneck", "summarize",
           "settings", "out_of_range", "memory_estimate", "check_memory", "model_sizes",
           "matched_hidden", "DEFAULTS", "SEEDS", "LIMITS", "MEMORY_ESTIMATED", "ABLATION_ARMS",
           "EXPERIMENTS", "SCHEMA"]


def out_of_range(experiment, name, value):
    """Why ``value`` is no good for setting ``name`` of ``experiment`` (see :data:`LIMITS`),
    e.g. "expected an integer in [1, 4096], got 100000"; None if it is fine."""
    kind, low, high = LIMITS[experiment][name]
    if value is None and name in _MAY_BE_NONE:
        return None
    if kind == _INTS:
        ok = isinstance(value, (list, tuple)) and len(value) > 0 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and low <= v <= high
            for v in value)
        return None if ok else f"expected a non-empty list of integers in [{low}, {high}], got {value!r}"
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
    if experiment in ("adding", "ablation", "exp4", "truncation"):
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

def model_sizes(experiment, **overrides):
    """(input_size, output_size) of the models an experiment trains, from its settings."""
    s = settings(experiment, **overrides)
    if experiment in ("adding", "ablation", "exp4"):
        return 2, 1
    if experiment == "order":
        return len(tasks.ORDER_SYMBOLS), 2 ** s.n_relevant
    return s.alphabet + 2, s.alphabet + 2                   # copy: symbols, blank, delimiter


def matched_hidden(experiment, cell, hidden, **overrides):
    """The hidden size that gives ``cell`` the parameter count nearest an LSTM's with
    ``hidden`` units, read-out included (``train.hidden_for_parameters``): the lab's
    comparison at an equal parameter count."""
    d, out = model_sizes(experiment, **overrides)
    return tr.hidden_for_parameters(cell, d, out, tr.parameter_count("lstm", d, hidden, out))


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


def cosine_lr(lr, lr_final, steps):
    """The schedule of :func:`run_charlm`: lr at step 1, lr_final at the last, a half cosine between."""
    def lr_at(step):
        done = (step - 1) / max(steps - 1, 1)
        return lr_final + 0.5 * (lr - lr_final) * (1 + math.cos(math.pi * done))
    return lr_at


def run_charlm(cell="lstm", seed=0, *, corpus="data/corpus.txt", weights=None, progress=None,
               return_model=False, **overrides):
    """A character-level language model of the frozen corpus (:mod:`lstm_lib.lab.corpus`).

    Trains :class:`lstm_lib.lab.charlm.CharLM` (one layer of ``hidden`` units) on the
    training split, read as ``batch`` parallel streams of ``T`` characters per step with
    the state carried across steps (truncated backpropagation through time), with Adam
    whose learning rate falls from ``lr`` to ``lr_final`` along a half cosine. Every
    ``eval_every`` steps it measures bits per character on the validation split; at the
    end, on the test split (the held-out text) and on a training sample of the same
    length as the validation split. ``weights``: a path to save the trained state_dict
    to (float32, ``torch.save``). Settings: ``DEFAULTS["charlm"]``.
    """
    s = settings("charlm", **overrides)
    data = corpus if isinstance(corpus, text.Corpus) else text.load_corpus(corpus)
    train_ids, valid_ids, test_ids = (data.ids(k) for k in text.SPLITS)
    model = lm.make_charlm(cell, s.hidden, forget_bias=_lstm_only(cell, s.forget_bias),
                           input_bias=_lstm_only(cell, s.input_bias), seed=seed)
    batches = text.StreamBatches(train_ids, s.batch, s.T, rng=_train_rng(seed, 7))
    hist = tr.train(model, batches, lm.lm_loss(), s.steps, lr=s.lr, clip=s.clip,
                    evaluate=lambda m: {"valid_bpc": lm.bits_per_char(m, valid_ids)},
                    eval_every=s.eval_every, progress=progress,
                    lr_at=cosine_lr(s.lr, s.lr_final, s.steps))
    record = {
        "cell": cell, "seed": seed, "hidden": s.hidden, "T": s.T, "batch": s.batch,
        "forget_bias": _lstm_only(cell, s.forget_bias),
        "input_bias": _lstm_only(cell, s.input_bias),
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": hist["step"], "valid_bpc": hist["valid_bpc"],
        "final_valid_bpc": hist["valid_bpc"][-1],
        "test_bpc": lm.bits_per_char(model, test_ids),
        "train_sample_bpc": lm.bits_per_char(model, train_ids[:len(valid_ids)]),
        "epochs": round(hist["steps_run"] / batches.per_epoch, 2),
        "characters_seen": hist["sequences_seen"] * s.T,
        "first_grad_norm": hist["first_grad_norm"], "max_grad_norm": max(hist["grad_norm"]),
        "seconds": round(hist["seconds"], 2), "weights": None,
    }
    if weights is not None:
        weights = Path(weights)
        buffer = io.BytesIO()                  # the same bytes whatever the file is called
        torch.save(model.state_dict(), buffer)
        tmp = weights.with_name(f".{weights.name}.tmp")
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, weights)
        record["weights"] = weights.name
        record["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    return (record, model) if return_model else record

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

def run_truncation(seed=0, k=None, *, progress=None, return_model=False, **overrides):
    """The adding problem trained with backpropagation through time truncated to ``k`` steps.

    The LSTM of :func:`run_adding` (same initial weights, training stream and test
    set for a seed), trained with :func:`lstm_lib.lab.train.truncated_mse_loss`:
    the state is carried across chunks of ``k`` steps and detached between them,
    and the loss is read at the end, so its gradient reaches only the last chunk.
    ``k`` None is full BPTT. Every evaluation records the test MSE and the weights
    of the answer on the two marked values (:func:`lstm_lib.lab.train.adding_metrics`).
    Settings: ``DEFAULTS["truncation"]`` (its ``truncate`` lists the lengths the
    command line compares with full BPTT; one run uses ``k``).
    """
    s = settings("truncation", **overrides)
    if k is not None and not (isinstance(k, int) and 1 <= k < s.T):
        raise ValueError(f"k: expected None (full BPTT) or an integer in [1, T={s.T}), got {k!r}")
    model = tr.make_model("lstm", 2, s.hidden, 1, forget_bias=s.forget_bias,
                          input_bias=s.input_bias, seed=seed)
    rng = _train_rng(seed, 1)
    test = tasks.adding_problem(s.T, s.test_size, rng=TEST_SEED + s.T)
    loss_fn = tr.mse_loss if k is None else tr.truncated_mse_loss(k)
    hist = tr.train(model, lambda: tasks.adding_problem(s.T, s.batch, rng), loss_fn, s.steps,
                    lr=s.lr, clip=s.clip, evaluate=lambda m: tr.adding_metrics(m, test),
                    eval_every=s.eval_every,
                    stop_when=None if s.stop_mse is None else (lambda m: m["mse"] < s.stop_mse),
                    progress=progress)
    record = {
        "cell": "lstm", "T": s.T, "seed": seed, "truncate": k, "forget_bias": s.forget_bias,
        "input_bias": s.input_bias, "clip": s.clip, "sequences": hist["sequences"],
        "test_mse": hist["mse"], "w_first": hist["w_first"], "w_second": hist["w_second"],
        "sequences_to_mse_0.01": tr.first_crossing(hist, "mse", 0.01),
        "final_test_mse": hist["mse"][-1], "final_w_first": hist["w_first"][-1],
        "final_w_second": hist["w_second"][-1], "baseline_mse": tasks.adding_baseline_mse(),
        "first_grad_norm": hist["first_grad_norm"], "steps_run": hist["steps_run"],
        "sequences_seen": hist["sequences_seen"], "seconds": round(hist["seconds"], 2),
    }
    return (record, model) if return_model else record


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
        elif experiment == "truncation":
            key = "full" if r["truncate"] is None else f"k{r['truncate']}"
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
        "charlm": ["test_bpc", "final_valid_bpc"],

        "truncation": ["sequences_to_mse_0.01", "final_test_mse", "final_w_first",
                       "final_w_second"],
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
