"""Chapter 9's own computations: the two limits the LSTM keeps, measured, and attention.

1. **Attention, checked.** :func:`check_attention` holds
   :func:`lstm_lib.attention.attention` against
   ``torch.nn.functional.scaled_dot_product_attention`` (outputs and the
   gradients with respect to query, key and value, float64, with each kind of
   mask) and :class:`lstm_lib.attention.SelfAttention` against
   ``torch.nn.MultiheadAttention`` with one head; it returns the largest
   differences.
2. **Sequential time.** :func:`dependent_steps` counts the steps that must
   run one after another in a layer over T positions; :func:`timing_curves`
   reads the attention sweep of ``python -m lstm_lib.lab.bench --sweep
   attention`` (ratios measured in one run, with quartiles).
3. **The fixed-width bottleneck.** :func:`predicted_longest` is the longest
   associative-recall length that a linear readout of n numbers can still get
   right on a given fraction of sequences (from
   :func:`lstm_lib.lab.seq2seq.readout_regions`); :func:`hand_built_recall`
   sets an encoder's weights by hand so that it stores L = n values, one per
   unit, and gets every sequence right; :func:`bottleneck_table` reads the
   results file of ``python -m lstm_lib.lab bottleneck``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import SelfAttention, attention, causal_mask
from ..checks import check_in_range, check_positive_int
from ..lab import seq2seq

__all__ = ["check_attention", "dependent_steps", "timing_curves", "predicted_longest",
           "hand_built_recall", "bottleneck_table"]


# ----------------------------------------------------------------------------
# 1. attention against PyTorch
# ----------------------------------------------------------------------------

def _max_diff(ours, theirs):
    return max(float((a - b).detach().abs().max()) for a, b in zip(ours, theirs))


def check_attention(seed=0, batch=(2, 3), L=5, S=6, E=4, Ev=7):
    """Our attention against PyTorch's, in float64: {case: {"output": d, "gradient": d}}.

    d is the largest absolute difference over all entries (of the output; of the
    gradients of a random linear loss with respect to query, key and value). Cases:
    no mask, causal (L = S), a boolean mask, a float mask with -inf entries, and
    "module": SelfAttention (causal) against torch.nn.MultiheadAttention with one
    head and the same weights (the gradient with respect to the input and every weight).
    """
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    bool_mask = torch.rand(L, S, generator=g) > 0.4
    bool_mask[:, 0] = True                              # every query keeps a key
    float_mask = rand(*batch, L, S)
    float_mask[torch.rand(*batch, L, S, generator=g) > 0.7] = -math.inf
    float_mask[..., 0] = 0.0
    cases = {"no mask": ({}, {}, S), "causal": ({"causal": True}, {"is_causal": True}, L),
             "boolean mask": ({"mask": bool_mask}, {"attn_mask": bool_mask}, S),
             "float mask with -inf": ({"mask": float_mask}, {"attn_mask": float_mask}, S)}
    out = {}
    for case, (ours_kw, theirs_kw, keys) in cases.items():
        q, k, v = (rand(*batch, rows, width).requires_grad_(True)
                   for rows, width in ((L, E), (keys, E), (keys, Ev)))
        a = attention(q, k, v, **ours_kw)
        b = F.scaled_dot_product_attention(q, k, v, **theirs_kw)
        w = rand(*a.shape)
        out[case] = {"output": _max_diff([a], [b]),
                     "gradient": _max_diff(torch.autograd.grad((a * w).sum(), (q, k, v)),
                                           torch.autograd.grad((b * w).sum(), (q, k, v)))}
    torch.manual_seed(seed)
    ours = SelfAttention(E, causal=True, dtype=torch.float64)
    with torch.no_grad():
        for p in ours.parameters():
            p.normal_(0.0, 0.5)
    theirs = nn.MultiheadAttention(E, 1, dtype=torch.float64)
    theirs.load_state_dict(ours.state_dict())
    x = rand(L, batch[0], E)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y1 = ours(x1)
    y2, _ = theirs(x2, x2, x2, attn_mask=~causal_mask(L), need_weights=False)
    w = rand(*y1.shape)
    g1 = torch.autograd.grad((y1 * w).sum(), [x1, *ours.parameters()])
    g2 = torch.autograd.grad((y2 * w).sum(), [x2, *theirs.parameters()])
    out["module"] = {"output": _max_diff([y1], [y2]), "gradient": _max_diff(g1, g2)}
    return out


# ----------------------------------------------------------------------------
# 2. sequential time
# ----------------------------------------------------------------------------

def dependent_steps(kind, T):
    """Steps that must run one after another in one layer over T positions.

    "lstm": T, since step t needs h_{t-1} (the forward pass; the backward pass
    is another T, from the end back). "attention": 1, since every position's
    output is computed from the inputs alone, all at once (its few operations
    each act on all T positions together).
    """
    T = check_positive_int(T, "T")
    if kind == "lstm":
        return T
    if kind == "attention":
        return 1
    raise ValueError(f"kind: expected 'lstm' or 'attention', got {kind!r}")


def timing_curves(data, mode="fwd_bwd", threads=None):
    """The attention sweep of a results file, as arrays over T.

    data: ``python -m lstm_lib.lab.bench --sweep attention``'s file (a dict).
    Returns {"T": [...], "load": [1-minute load after each point], and for
    "attention" (SelfAttention / torch.nn.LSTM), "ours" (lstm_lib.LSTM /
    torch.nn.LSTM) and "attention_vs_ours": {"median", "q1", "q3"} lists; and
    "ms": {model: median ms}}. threads: the first measured count by default.
    """
    if data.get("schema") != "lstm_lib.bench.attention/1":
        raise ValueError(f"data: expected an attention sweep (schema "
                         f"'lstm_lib.bench.attention/1'), got {data.get('schema')!r}")
    threads = data["machine"]["threads_measured"][0] if threads is None else threads
    rows = sorted((r for r in data["results"] if r["mode"] == mode and r["threads"] == threads),
                  key=lambda r: r["T"])
    if not rows:
        raise ValueError(f"mode, threads: no rows for mode={mode!r}, threads={threads!r}")
    s = data["summary"]
    out = {"T": [r["T"] for r in rows], "load": [r["load_average"][0] for r in rows],
           "ms": {m: [r["ms"][m] for r in rows] for m in ("ours", "torch", "attention")}}
    for what in ("attention", "ours", "attention_vs_ours"):
        out[what] = {stat: [s[f"{mode}_{what}{'' if stat == 'median' else '_' + stat}"
                             f"_T{r['T']}_{threads}t"] for r in rows]
                     for stat in ("median", "q1", "q3")}
    return out


# ----------------------------------------------------------------------------
# 3. the fixed-width bottleneck
# ----------------------------------------------------------------------------

def predicted_longest(n, criterion=0.99):
    """The longest L whose 2^L answer patterns a linear readout of n numbers can still
    get right on at least ``criterion`` of the sequences: the largest L with
    readout_regions(n, L) / 2^L >= criterion. At least n (for L <= n every pattern has
    its region); a little more for a criterion below 1."""
    n = check_positive_int(n, "n")
    check_in_range(criterion, "criterion", 0, 1, inclusive=False)
    L = n
    while seq2seq.readout_regions(n, L + 1) / 2 ** (L + 1) >= criterion:
        L += 1
    return L


def hand_built_recall(n, gain=20.0, dtype=torch.float64):
    """A bottleneck model whose weights are set by hand to store L = n values, one per unit.

    Unit k of the encoder is a latch for key k (Chapter 3): its input gate opens only
    when key k arrives, its candidate is +1 for value 1 and -1 for value 0, its forget
    and output gates stay open. After the L pairs, h_L holds tanh(+-1) in unit k; the
    readout for key k reads the sign of unit k. ``gain`` sets how hard the gates are
    pushed open or shut. Returns the model (keys = n, values = 2, hidden size n).
    """
    n = check_positive_int(n, "n")
    check_in_range(gain, "gain", 0, None, inclusive=False)
    net = seq2seq.make_encoder_decoder("bottleneck", keys=n, values=2, hidden_size=n,
                                       dtype=dtype)
    enc = net.encoder
    eye = torch.eye(n, dtype=dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        W = enc.weight_ih_l0                          # (4n, n + 2): blocks i, f, g (c_tilde), o
        W[0:n, :n] = gain * eye                       # i: open for its own key only ...
        enc.bias_ih_l0[0:n] = -gain / 2               # ... shut for every other key
        enc.bias_ih_l0[n:2 * n] = gain                # f: keep
        W[2 * n:3 * n, n] = -gain                     # c_tilde: -1 for value 0 ...
        W[2 * n:3 * n, n + 1] = gain                  # ... and +1 for value 1
        enc.bias_ih_l0[3 * n:] = gain                 # o: open
        R = net.readout.weight.view(n, 2, n)          # R_k: (values, n) for each key k
        R[:, 1] = gain * eye                          # logit of value 1 for key k: +h_k
        R[:, 0] = -gain * eye                         # logit of value 0: -h_k
    return net


def bottleneck_table(data):
    """A bottleneck results file as one row per length L.

    data: ``python -m lstm_lib.lab bottleneck``'s file. Returns {"n": hidden size,
    "criterion": the sequence accuracy that counts as solved, "rows": [{"L", "bound"
    (readout_regions / 2^L), and per model {"best": [best sequence accuracy per
    seed], "accuracy": [best accuracy per seed], "solved": [bool per seed]}}],
    "longest": {model: [longest solved length per seed]}, "seeds": [...]}.
    """
    if data.get("experiment") != "bottleneck":
        raise ValueError(f"data: expected a bottleneck results file, got experiment "
                         f"{data.get('experiment')!r}")
    cfg = data["config"]
    n, lengths = cfg["hidden"], cfg["lengths"]
    by_model = {}
    for run in data["runs"]:
        by_model.setdefault(run["model"], []).append(run)
    rows = []
    for k, L in enumerate(lengths):
        row = {"L": L, "bound": seq2seq.readout_regions(n, L) / 2 ** L}
        for model, runs in by_model.items():
            row[model] = {"best": [r["best_sequence_accuracy"][k] for r in runs],
                          "accuracy": [r["best_accuracy"][k] for r in runs],
                          "solved": [r["solved"][k] for r in runs]}
        rows.append(row)
    return {"n": n, "criterion": cfg["stop_accuracy"], "rows": rows, "seeds": cfg["seeds"],
            "longest": {m: [r["longest_solved"] for r in runs] for m, runs in by_model.items()}}

