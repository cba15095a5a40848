"""``python -m lstm_lib.lab``: run one of the lab's experiments over seeds, write a results file.

::

    python -m lstm_lib.lab adding   --T 200 --seeds 5 --out results/adding_T200.json
    python -m lstm_lib.lab exp4     --T 100 --seeds 5 --out results/exp4_T100.json
    python -m lstm_lib.lab order    --seeds 3 --out results/order.json
    python -m lstm_lib.lab copy     --T 20 --seeds 3 --out results/copy_T20.json
    python -m lstm_lib.lab ablation --T 100 --seeds 5 --out results/ablation_T100.json
    python -m lstm_lib.lab adding   --models lstm,gru,rnn --match-params --out gru_adding.json

``--models`` names the cells to compare (lstm, gru, rnn). ``--match-params``
gives each one the hidden size whose parameter count (read-out included) is
nearest that of an LSTM with ``--hidden`` units, instead of ``--hidden`` itself;
the results file's config then records ``hidden_by_model`` and ``parameters_by_model``.

    python -m lstm_lib.lab charlm   --out results/charlm.json     # also writes results/charlm_*.pt

    python -m lstm_lib.lab bottleneck --hidden 8 --seeds 3 --out results/bottleneck_n8.json

    python -m lstm_lib.lab truncation --T 100 --truncate 50 --seeds 3 --out results/truncation_T100.json

``python -m lstm_lib.lab TASK --help`` lists every setting; each flag's
default is the experiment's entry in :data:`lstm_lib.lab.experiments.DEFAULTS`,
and its range the entry in :data:`~lstm_lib.lab.experiments.LIMITS`. Before
anything runs, every setting is checked against its range and the memory the
run would need against the machine's: a run estimated to need more than half
of it is refused, saying how much it would need.
The results file records the exact command, the versions, the date and the
machine (:mod:`lstm_lib.lab.results`). An existing results file is never
overwritten without ``--force``. A progress bar shows on a terminal; it is off
when output is not a terminal, with ``--quiet``, or with ``LSTM_LIB_NO_PROGRESS``.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from . import results as R
from . import seq2seq
from . import train as tr
from .experiments import (ABLATION_ARMS, DEFAULTS, EXPERIMENTS, MEMORY_ESTIMATED, SCHEMA, SEEDS,
                          check_memory, matched_hidden, model_sizes, out_of_range, run_adding,
                          run_bottleneck, run_charlm, run_copy, run_exp4, run_order,
                          run_truncation, summarize)
from .charlm import EVAL_STREAMS
from .corpus import V, load_corpus
from .progress import progress_bar

__all__ = ["main", "build_parser", "environment"]


def environment(argv):
    """What a results file records about how and where it was made."""
    env = R.environment("lstm_lib.lab", argv)
    env["machine"].update(torch_threads=torch.get_num_threads(), cpu=R.cpu_model())
    return env


# --------------------------------------------------------------------------- argument types

def _real_or_none(text):
    return None if text.lower() == "none" else R.real(text)


def _clip(text):
    return None if text.lower() in ("none", "off") else R.positive_float(text)


def _models(text):
    cells = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in cells if c not in tr.CELLS]
    if not cells or bad:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {tr.CELLS}, got {text!r}")
    return cells


def _seq2seq_models(text):
    models = [m.strip() for m in text.split(",") if m.strip()]
    if not models or any(m not in seq2seq.MODELS for m in models):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {seq2seq.MODELS}, "
                                         f"got {text!r}")
    return models


def _lengths(text):
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        values = []
    if not values or values[0] <= 0:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of positive "
                                         f"integers, got {text!r}")
    return values


def _at_least_two(text):
    value = R.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text!r}")
    return value


def _fraction(text):
    value = R.positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


# --------------------------------------------------------------------------- the parser

# Each setting's flag: (argparse type, help). Defaults come from DEFAULTS.
_FLAGS = {
    "hidden": (R.positive_int, "hidden size n"),
    "batch": (R.positive_int, "sequences per batch"),
    "lr": (R.positive_float, "Adam's learning rate"),
    "clip": (_clip, "clip the global gradient norm to this (or 'none')"),
    "forget_bias": (_real_or_none, "the LSTM's initial effective forget bias b_f "
                                   "('none': PyTorch's uniform draw)"),
    "input_bias": (_real_or_none, "the LSTM's initial effective input bias b_i "
                                  "('none': PyTorch's uniform draw)"),
    "steps": (R.positive_int, "training batches per run"),
    "eval_every": (R.positive_int, None),
    "test_size": (R.positive_int, None),
    "stop_mse": (R.positive_float, "stop a run once its test MSE is below this"),
    "max_sequences": (R.positive_int, None),
    "epochs": (R.positive_int, None),
    "train_size": (R.positive_int, "sequences per epoch"),
    "length": (R.positive_int, "symbols to copy"),
    "alphabet": (R.positive_int, "distinct symbols"),
    "lr_final": (R.positive_float, "the learning rate at the last step (a half cosine from --lr)"),
    "lengths": (_lengths, "numbers of (key, value) pairs L, e.g. 4,6,8"),
    "values": (_at_least_two, "distinct values (each answer carries log2 of this many bits)"),
    "stop_accuracy": (_fraction, "stop a run, as solved, once its test accuracy reaches this"),
    "truncate": (_lengths, "truncation lengths k to compare with full BPTT, e.g. 50,25"),
}
_T_HELP = {"adding": "sequence length (>= 2)", "ablation": "sequence length (>= 2)",
           "truncation": "sequence length (>= 2)",
           "exp4": "minimal sequence length (>= 20)",
           "copy": "blank gap (total length T + 2 length)",
           "charlm": "characters per training step and stream (truncated BPTT)"}
_HELP = {"adding": "LSTM vs tanh RNN on the adding problem",
         "ablation": "forget bias 0 vs 1, clipping on vs off (adding problem)",
         "exp4": "Hochreiter & Schmidhuber's Experiment 4, to their criterion",
         "order": "temporal-order classification, accuracy per epoch",
         "copy": "copy memory: cross-entropy against the memoryless baseline",
         "charlm": "character-level language model of the course's own source (data/corpus.txt); "
                   "also writes each trained state_dict beside --out",
         "bottleneck": "associative recall by an encoder-decoder, without and with attention",
         "truncation": "full against truncated BPTT on the adding problem"}
_PARSER_ORDER = ("adding", "ablation", "exp4", "order", "copy", "truncation", "charlm", "bottleneck")


def build_parser():
    parser = R.Parser(prog="python -m lstm_lib.lab",
                      description="Run one of the lab's experiments over several seeds "
                                  "and write a JSON results file.")
    sub = parser.add_subparsers(dest="experiment", required=True, metavar="TASK",
                                parser_class=R.Parser,
                                help="one of: " + ", ".join(EXPERIMENTS))
    for e in _PARSER_ORDER:
        p = sub.add_parser(e, help=_HELP[e])
        p.add_argument("--out", required=True, type=Path, help="results file to write (JSON)")
        p.add_argument("--force", action="store_true", help="overwrite an existing results file")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--seeds", type=R.positive_int, default=SEEDS[e],
                       help="number of seeds: 0..N-1")
        defaults = DEFAULTS[e]
        if "T" in defaults:
            p.add_argument("--T", type=R.positive_int, default=defaults["T"], help=_T_HELP[e])
        if e in ("adding", "order", "copy", "charlm"):
            p.add_argument("--models", type=_models, default=["lstm", "rnn"],
                           help="e.g. lstm,gru,rnn")
        if e in ("adding", "order", "copy"):
            p.add_argument("--match-params", action="store_true",
                           help="give each model the hidden size whose parameter count is "
                                "nearest an LSTM's with --hidden units")
        if e == "charlm":
            p.add_argument("--corpus", type=Path, default=Path("data/corpus.txt"),
                           help="the frozen corpus (its .sha256 and .json beside it)")
        if e == "bottleneck":
            p.add_argument("--models", type=_seq2seq_models, default=list(seq2seq.MODELS),
                           help="e.g. bottleneck,attention")
        if e == "order":
            p.add_argument("--relevant", type=int, choices=(2, 3), default=defaults["n_relevant"],
                           help="2: Experiment 6a (4 classes), 3: 6b (8 classes)")
        for name, (kind, help_) in _FLAGS.items():
            if name in defaults:
                p.add_argument("--" + name.replace("_", "-"), type=kind, default=defaults[name],
                               help=help_)
    return parser


def _settings(args):
    """The experiment's settings as parsed: {name in DEFAULTS: value}."""
    return {name: getattr(args, "relevant" if name == "n_relevant" else name)
            for name in DEFAULTS[args.experiment]}

def weights_path(out, cell, seed):
    """Where ``charlm`` saves a trained state_dict: beside the results file, named after it."""
    out = Path(out)
    return out.with_name(f"{out.stem}_{cell}_seed{seed}.pt")


def _check_task_args(parser, args):
    """Everything about the settings, before anything runs: ranges (experiments.LIMITS),
    the tasks' own rules, and the memory the run would need."""
    e = args.experiment
    if e in ("adding", "ablation") and args.T < 2:
        parser.error(f"--T: the adding problem needs T >= 2, got {args.T}")
    if e == "exp4" and args.T < 20:
        parser.error(f"--T: Experiment 4 needs T >= 20 (ten first pairs, then T/2), got {args.T}")
    for name, value in [("seeds", args.seeds), *_settings(args).items()]:
        why = out_of_range(e, name, value)
        if why:
            flag = "--relevant" if name == "n_relevant" else "--" + name.replace("_", "-")
            parser.error(f"{flag}: {why}")
    if args.forget_bias != DEFAULTS["ablation"]["forget_bias"] and e == "ablation":
        parser.error("--forget-bias: the ablation sets the forget bias itself (0 and 1)")
    if e == "truncation" and (args.T < 2 or max(args.truncate) >= args.T):
        parser.error(f"--truncate: every length must be below T = {args.T}, got "
                     f"{','.join(map(str, args.truncate))}")
    if e == "ablation" and args.clip is None:
        parser.error("--clip: the ablation compares clipping at this value with none; give a number")
    if e in MEMORY_ESTIMATED:
        try:
            check_memory(e, R.memory_total(), **_settings(args))
        except MemoryError as exc:
            sizes = [f for f in ("--T", "--length", "--batch", "--test-size", "--train-size",
                                 "--hidden") if f[2:].replace("-", "_") in DEFAULTS[e]]
            parser.error(f"{exc}; reduce {', '.join(sizes)}")
    if e == "charlm":
        if args.lr_final > args.lr:
            parser.error(f"--lr-final: expected at most --lr ({args.lr:g}), got {args.lr_final:g}")
        try:
            load_corpus(args.corpus)
        except (OSError, ValueError) as exc:
            parser.error(f"--corpus: {exc}")
        for cell in args.models:
            for seed in range(args.seeds):
                w = weights_path(args.out, cell, seed)
                if w.exists() and not args.force:
                    parser.error(f"--out: {w} (the {cell} weights) exists; pass --force to overwrite it")


# --------------------------------------------------------------------------- running

def _sizes(args, cfg):
    """{cell: hidden size} for ``--models``: --hidden, or matched to the LSTM's parameter count."""
    if not getattr(args, "match_params", False):
        return {c: args.hidden for c in args.models}
    settings = {k: v for k, v in cfg.items() if k in DEFAULTS[args.experiment] and k != "hidden"}
    return {c: matched_hidden(args.experiment, c, args.hidden, **settings) for c in args.models}


def _record_sizes(args, config, cfg, hidden):
    """With --match-params, the config records each model's hidden size and parameter count."""
    if getattr(args, "match_params", False):
        d, out = model_sizes(args.experiment, **{k: v for k, v in cfg.items()
                                                 if k in DEFAULTS[args.experiment]})
        config["match_params"] = {"reference": "lstm", "hidden": args.hidden,
                                  "parameters": tr.parameter_count("lstm", d, args.hidden, out)}
        config["hidden_by_model"] = hidden
        config["parameters_by_model"] = {c: tr.parameter_count(c, d, n, out)
                                         for c, n in hidden.items()}
    return config


def _run_all(args, bar_on):
    """Run every seed (and model or arm) of the experiment; return (config, runs)."""
    e, seeds = args.experiment, list(range(args.seeds))
    base = {"hidden": args.hidden, "batch": args.batch, "lr": args.lr, "clip": args.clip,
            "input_bias": getattr(args, "input_bias", None)}
    if e == "adding":
        cfg = dict(base, forget_bias=args.forget_bias, steps=args.steps,
                   eval_every=args.eval_every, test_size=args.test_size, stop_mse=args.stop_mse)
        hidden = _sizes(args, dict(cfg, T=args.T))
        jobs = [(run_adding, dict(cfg, cell=c, T=args.T, seed=s, hidden=hidden[c]), args.steps)
                for c in args.models for s in seeds]
        config = _record_sizes(args, dict(cfg, T=args.T, models=args.models, seeds=seeds),
                               cfg, hidden)
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
        hidden = _sizes(args, cfg)
        jobs = [(run_order, dict(cfg, cell=c, seed=s, hidden=hidden[c]), steps)
                for c in args.models for s in seeds]
        config = _record_sizes(args, dict(cfg, models=args.models, seeds=seeds), cfg, hidden)
    elif e == "charlm":
        data = load_corpus(args.corpus)
        cfg = dict(base, forget_bias=args.forget_bias, steps=args.steps, T=args.T,
                   eval_every=args.eval_every, lr_final=args.lr_final)
        jobs = [(run_charlm, dict(cfg, cell=c, seed=s, corpus=data,
                                  weights=weights_path(args.out, c, s)), args.steps)
                for c in args.models for s in seeds]
        config = dict(cfg, models=args.models, seeds=seeds, corpus=str(args.corpus),
                      corpus_sha256=data.sha256, vocab_size=V, eval_streams=EVAL_STREAMS,
                      splits=data.manifest["splits"])
    elif e == "bottleneck":
        cfg = {k: getattr(args, k) for k in DEFAULTS["bottleneck"]}
        jobs = [(run_bottleneck, dict(cfg, model=m, seed=s), args.steps * len(args.lengths))
                for m in args.models for s in seeds]
        config = dict(cfg, models=args.models, seeds=seeds)
    elif e == "truncation":
        cfg = dict(base, forget_bias=args.forget_bias, steps=args.steps,
                   eval_every=args.eval_every, test_size=args.test_size, stop_mse=args.stop_mse)
        jobs = [(run_truncation, dict(cfg, T=args.T, seed=s, k=k), args.steps)
                for k in (None, *args.truncate) for s in seeds]
        config = dict(cfg, T=args.T, seeds=seeds, truncate=list(args.truncate),
                      arms=[{"truncate": k} for k in (None, *args.truncate)])
    else:  # copy
        cfg = dict(base, forget_bias=args.forget_bias, steps=args.steps,
                   eval_every=args.eval_every, test_size=args.test_size,
                   length=args.length, alphabet=args.alphabet)
        hidden = _sizes(args, dict(cfg, T=args.T))
        jobs = [(run_copy, dict(cfg, cell=c, T=args.T, seed=s, hidden=hidden[c]), args.steps)
                for c in args.models for s in seeds]
        config = _record_sizes(args, dict(cfg, T=args.T, models=args.models, seeds=seeds),
                               cfg, hidden)
    bar = progress_bar(sum(j[2] for j in jobs), e, enabled=bar_on)
    runs = []
    try:
        for fn, kwargs, _ in jobs:
            if bar is not None:
                label = kwargs.get("cell", kwargs.get("model", "lstm"))
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
    bar_on = not args.quiet and sys.stderr.isatty()       # a bar for a person at a terminal
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
    if R.write_out(parser.prog, args.out, result, args.force):
        return 2
    if not args.quiet:
        print(f"wrote {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
