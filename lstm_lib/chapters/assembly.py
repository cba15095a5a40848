"""Chapter 4's own computations: reading a parameter count, counting FLOPs,
and measuring the gradient at initialization.

The layer itself lives elsewhere: ``modules.LSTM`` is the PyTorch module and
``weights`` holds the fused layout, ``lstm_param_count``, ``set_forget_bias``
and ``orthogonal_recurrent_``. This file only adds what Chapter 4 computes
with them.

1. Which models have a given number of parameters? A model here is an
   optional embedding (V tokens of width E), an LSTM of L layers with hidden
   size n, and a linear head from the last hidden state to C outputs::

       total = V E + sum over layers and directions of 4(n d_l + n^2 + k n) + (D n + 1) C

   with d_1 = E (or d input features), d_l = D n after the first layer,
   D = 2 if bidirectional, and k = 2 biases per gate (PyTorch) or 1
   (Keras/TensorFlow). :func:`search_configs` lists every model of that
   family with a given total; :func:`looks_built` is our filter for the
   ones that look like a model someone would write.

2. What does one step cost? :func:`lstm_step_flops` counts the operations
   of one step, :func:`lstm_matmul_flops` those of the module's matrix
   products over a sequence, and :func:`record_matmuls` lists the matrix
   products a call really issues (one big input projection, then one small
   product per step).

3. How far back does the gradient reach at initialization? For a loss
   L = sum_b w . h_T (w a unit vector, so ||dL/dh_T|| = 1 for every example),
   :func:`state_gradients` returns dL/dc_{T-k} and dL/dh_{T-k} for the state
   pair that step T-k hands to step T-k+1, and :func:`gradient_at_init`
   compares PyTorch's initialization with a forget bias of 1, orthogonal
   recurrent blocks, and both. Arrays over gaps follow lstm_lib's one
   convention (:mod:`lstm_lib.jacobians`): row k is gap k, k = 0..T.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from ..checks import check_array, check_index, check_positive_int
from ..modules import LSTM
from ..weights import lstm_param_count, orthogonal_recurrent_

# ----------------------------------------------------------------------------
# 1. reading a parameter count
# ----------------------------------------------------------------------------

CLAIMED_PARAMS = 204_290      # seed 003: "2-layer LSTM, 64 hidden units, 204,290 parameters"
CLAIMED_HIDDEN = 64
CLAIMED_LAYERS = 2

MAX_INPUT_SIZE = 512          # E (embedding width) or d (input features): 1..512
VOCAB_RANGE = (2, 50_000)     # V: from a binary alphabet to a word-level vocabulary
MAX_CLASSES = 1_000           # C: outputs of the head, 1..1000

BUILT_INPUT_SIZES = (8, 16, 32, 64, 128, 256, 512)   # widths people type
BUILT_MAX_VOCAB = 1_000       # a synthetic or character-level task
BUILT_MAX_CLASSES = 20        # a classifier with a handful of classes


@dataclass(frozen=True, order=True)
class ModelConfig:
    """Embedding (optional) -> LSTM -> linear head on the last hidden state.

    input_size: E, the embedding width, or d, the number of input features
    when ``vocab_size`` is None (no embedding). num_classes: C, outputs of
    the head nn.Linear(D n, C) (with its bias). biases_per_gate: 2 as in
    torch.nn.LSTM (bias_ih and bias_hh), 1 as in Keras/TensorFlow.
    """
    input_size: int
    num_classes: int
    vocab_size: int | None = None
    bidirectional: bool = False
    biases_per_gate: int = 2
    hidden_size: int = CLAIMED_HIDDEN
    num_layers: int = CLAIMED_LAYERS

    def __post_init__(self):
        check_positive_int(self.input_size, "input_size")
        check_positive_int(self.num_classes, "num_classes")
        check_positive_int(self.hidden_size, "hidden_size")
        check_positive_int(self.num_layers, "num_layers")
        if self.vocab_size is not None:
            check_positive_int(self.vocab_size, "vocab_size")
        if not isinstance(self.bidirectional, bool):
            raise TypeError(f"bidirectional: expected a bool, got {self.bidirectional!r}")
        if self.biases_per_gate not in (1, 2) or isinstance(self.biases_per_gate, bool):
            raise ValueError(f"biases_per_gate: expected 1 or 2, got {self.biases_per_gate!r}")

    @property
    def directions(self) -> int:
        """D: 2 if bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    def parts(self) -> dict:
        """Parameters of each part: embedding (V E), lstm, head ((D n + 1) C)."""
        emb = 0 if self.vocab_size is None else self.vocab_size * self.input_size
        lstm = lstm_param_count(self.input_size, self.hidden_size, self.num_layers,
                                self.bidirectional, self.biases_per_gate)
        head = (self.directions * self.hidden_size + 1) * self.num_classes
        return {"embedding": emb, "lstm": lstm, "head": head}

    def count(self) -> int:
        """Total number of parameters."""
        return sum(self.parts().values())

    def describe(self) -> str:
        """One line, e.g. 'Embedding(42, 128) -> 2-layer bidirectional LSTM(64), 2 biases -> Linear(128, 2)'."""
        first = (f"{self.input_size} features" if self.vocab_size is None
                 else f"Embedding({self.vocab_size}, {self.input_size})")
        kind = "bidirectional " if self.bidirectional else ""
        bias = "2 biases" if self.biases_per_gate == 2 else "1 bias"
        return (f"{first} -> {self.num_layers}-layer {kind}LSTM({self.hidden_size}), {bias} "
                f"-> Linear({self.directions * self.hidden_size}, {self.num_classes})")

    def build(self) -> nn.Module:
        """The model in PyTorch (two biases per gate only: that is what nn.LSTM stores).

        Returns nn.ModuleDict with "embedding" (absent without vocab_size),
        "lstm" (an ``lstm_lib.modules.LSTM``) and "head" (nn.Linear), so that
        ``sum(p.numel() for p in model.parameters())`` can be checked against
        :meth:`count`.
        """
        if self.biases_per_gate != 2:
            raise ValueError("build: PyTorch's LSTM keeps 2 biases per gate, "
                             f"got biases_per_gate={self.biases_per_gate}")
        parts = {}
        if self.vocab_size is not None:
            parts["embedding"] = nn.Embedding(self.vocab_size, self.input_size)
        parts["lstm"] = LSTM(self.input_size, self.hidden_size, self.num_layers,
                             bidirectional=self.bidirectional)
        parts["head"] = nn.Linear(self.directions * self.hidden_size, self.num_classes)
        return nn.ModuleDict(parts)


def search_configs(target, hidden_size=CLAIMED_HIDDEN, num_layers=CLAIMED_LAYERS,
                   max_input_size=MAX_INPUT_SIZE, vocab_range=VOCAB_RANGE,
                   max_classes=MAX_CLASSES, embedding=(True, False),
                   bidirectional=(False, True), biases_per_gate=(1, 2)) -> list:
    """Every :class:`ModelConfig` whose :meth:`~ModelConfig.count` equals ``target``.

    Searches E (or d) in 1..max_input_size, C in 1..max_classes, V in
    vocab_range (inclusive) for models with an embedding, and every
    combination of the flags in ``embedding``, ``bidirectional`` and
    ``biases_per_gate``. With an embedding, V is whatever makes the total
    exact: V = (target - lstm - head) / E when that is an integer in range.
    Returns the configurations sorted.
    """
    target = check_positive_int(target, "target")
    max_input_size = check_positive_int(max_input_size, "max_input_size")
    max_classes = check_positive_int(max_classes, "max_classes")
    v_lo, v_hi = (check_positive_int(v, "vocab_range") for v in vocab_range)
    if v_lo > v_hi:
        raise ValueError(f"vocab_range: expected (low, high) with low <= high, got {vocab_range}")
    E = np.arange(1, max_input_size + 1, dtype=np.int64)[:, None]     # (nE, 1)
    C = np.arange(1, max_classes + 1, dtype=np.int64)[None, :]        # (1, nC)
    found = []
    for k in biases_per_gate:
        for bi in bidirectional:
            D = 2 if bi else 1
            lstm = np.array([lstm_param_count(int(e), hidden_size, num_layers, bi, k)
                             for e in E[:, 0]], dtype=np.int64)[:, None]
            rest = target - lstm - (D * hidden_size + 1) * C          # what the embedding must hold
            for emb in embedding:
                if emb:
                    ok = (rest > 0) & (rest % E == 0)
                    V = np.where(ok, rest // np.maximum(E, 1), 0)
                    ok &= (V >= v_lo) & (V <= v_hi)
                else:
                    ok = rest == 0
                for a, b in zip(*np.nonzero(ok)):
                    found.append(ModelConfig(
                        input_size=int(E[a, 0]), num_classes=int(C[0, b]),
                        vocab_size=int(V[a, b]) if emb else None, bidirectional=bi,
                        biases_per_gate=k, hidden_size=hidden_size, num_layers=num_layers))
    return sorted(found, key=_sort_key)


def _sort_key(cfg):
    return (cfg.vocab_size is None, cfg.bidirectional, cfg.biases_per_gate,
            cfg.input_size, cfg.num_classes, cfg.vocab_size or 0)


def looks_built(cfg, input_sizes=BUILT_INPUT_SIZES, max_vocab=BUILT_MAX_VOCAB,
                max_classes=BUILT_MAX_CLASSES) -> bool:
    """Our filter for "looks like a model someone would really build".

    An embedding whose width is one of ``input_sizes`` (powers of two), a
    vocabulary of at most ``max_vocab`` tokens and at most ``max_classes``
    outputs. It is a judgement, written down so that it can be changed.
    """
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"cfg: expected a ModelConfig, got {type(cfg).__name__}")
    return (cfg.vocab_size is not None and cfg.input_size in input_sizes
            and cfg.vocab_size <= max_vocab and cfg.num_classes <= max_classes)


# ----------------------------------------------------------------------------
# 2. cost
# ----------------------------------------------------------------------------

def lstm_step_flops(input_size, hidden_size, batch_size=1) -> dict:
    """Floating-point operations of one LSTM step for B examples (one layer, one direction).

    Per example, with d = input_size and n = hidden_size:

        matmul_input      2 * 4n d     the 4n d multiply-adds of x_t W_x^T
        matmul_recurrent  2 * 4n n     the 4n n multiply-adds of h_{t-1} W_h^T
        elementwise       12 n         4n bias adds, 4n adds of the two products,
                                       f*c, i*c_tilde, their sum, o*tanh(c): 4n
        nonlinear         5 n          3n sigmoids (i, f, o) and 2n tanh (c_tilde, tanh c)
        total             the sum, counting each sigmoid or tanh as one operation

    Also returns ``multiply_adds`` = 4n(d + n) per example, times B.
    """
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    B = check_positive_int(batch_size, "batch_size")
    out = {
        "multiply_adds": B * 4 * n * (d + n),
        "matmul_input": B * 2 * 4 * n * d,
        "matmul_recurrent": B * 2 * 4 * n * n,
        "elementwise": B * 12 * n,
        "nonlinear": B * 5 * n,
    }
    out["total"] = (out["matmul_input"] + out["matmul_recurrent"]
                    + out["elementwise"] + out["nonlinear"])
    return out


def lstm_matmul_flops(input_size, hidden_size, T, batch_size, num_layers=1,
                      bidirectional=False) -> int:
    """FLOPs of the matrix products of a multi-layer LSTM's forward pass.

    Sum over layers and directions of T * B * 2 * 4n (d_l + n), with d_l the
    layer's input size (D n after the first layer).
    """
    T = check_positive_int(T, "T")
    n = check_positive_int(hidden_size, "hidden_size")
    L = check_positive_int(num_layers, "num_layers")
    d = check_positive_int(input_size, "input_size")
    D = 2 if bidirectional else 1
    total = 0
    for layer in range(L):
        d_l = d if layer == 0 else D * n
        step = lstm_step_flops(d_l, n, batch_size)
        total += D * T * (step["matmul_input"] + step["matmul_recurrent"])
    return total


_MATMULS = {"mm", "addmm", "bmm"}


class _MatmulLog(TorchDispatchMode):
    """Records the shape of every matrix product PyTorch's dispatcher runs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        if name in _MATMULS:
            a, b = (args[1], args[2]) if name == "addmm" else (args[0], args[1])
            if name == "bmm":
                rows, inner, cols = a.shape[0] * a.shape[1], a.shape[2], b.shape[2]
            else:
                rows, inner, cols = a.shape[0], a.shape[1], b.shape[1]
            self.calls.append((int(rows), int(inner), int(cols)))
        return func(*args, **kwargs)


def record_matmuls(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` and list the matrix products it issues.

    Returns (result, calls) with calls a list of (rows, inner, cols): one
    product of a (rows, inner) matrix by an (inner, cols) one, 2 * rows *
    inner * cols FLOPs. For ``lstm_lib.modules.LSTM`` the first call of each
    layer and direction is the input projection of all T steps, (T B, d_l) by
    (d_l, 4n), and the next T calls are the recurrent products, (B, n) by (n, 4n).
    PyTorch's own fused kernel (``torch.nn.LSTM`` on CPU) is one call that
    the dispatcher does not break into products, so nothing is recorded.
    """
    log = _MatmulLog()
    with log:
        result = fn(*args, **kwargs)
    return result, log.calls


# ----------------------------------------------------------------------------
# 3. the gradient at initialization
# ----------------------------------------------------------------------------

INIT_SCHEMES = ("pytorch", "forget_bias", "orthogonal", "both")
INIT_LABELS = {"pytorch": "PyTorch default", "forget_bias": "forget bias 1",
               "orthogonal": "orthogonal W_h blocks", "both": "forget bias 1 + orthogonal"}
# The section's LSTMs and data: one layer of 32 units reading 60 steps of 8 inputs,
# 16 sequences, five seeds.
GRADIENT_INIT_INPUT_SIZE = 8
GRADIENT_INIT_HIDDEN_SIZE = 32
GRADIENT_INIT_T = 60
GRADIENT_INIT_BATCH = 16
GRADIENT_INIT_SEEDS = (0, 1, 2, 3, 4)


def init_lstm(scheme, input_size=GRADIENT_INIT_INPUT_SIZE, hidden_size=GRADIENT_INIT_HIDDEN_SIZE,
              seed=0,
              dtype=torch.float64) -> LSTM:
    """A one-layer ``lstm_lib.modules.LSTM`` initialized by one of INIT_SCHEMES.

    "pytorch": every parameter from U(-1/sqrt(n), 1/sqrt(n));
    "forget_bias": the same draw, then b_f = 1 (bias_ih[n:2n] = 1, bias_hh[n:2n] = 0);
    "orthogonal": the same draw, then each n x n block of weight_hh orthogonal;
    "both": the two changes together. The same seed gives the same W_x and
    the same other biases in every scheme. Torch's global generator is left as it was.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"scheme: expected one of {INIT_SCHEMES}, got {scheme!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fb = 1.0 if scheme in ("forget_bias", "both") else None
        module = LSTM(input_size, hidden_size, dtype=dtype, forget_bias=fb)
    if scheme in ("orthogonal", "both"):
        orthogonal_recurrent_(module, generator=torch.Generator().manual_seed(10_000 + seed))
    return module


def state_gradients(module, x, readout) -> dict:
    """Gradients on the state pair at every gap, for L = sum_b readout . h_T^{(b)}.

    module: a one-layer, one-direction ``lstm_lib.modules.LSTM``; x: (T, B, d)
    tensor; readout: (n,) tensor w. The module is run one step at a time,
    ``module(x[t:t+1], (h, c))``, so that the state handed from step t to
    step t+1 is a tensor autograd can report on.

    Returns numpy float64 arrays over the gaps k = 0..T (row k is gap k):
    "dc" and "dh", (T + 1, B, n): dL/dc_{T-k} and dL/dh_{T-k} for the state
    that step T-k+1 reads, row T being the initial state (c_0, h_0). At gap 0
    the reader is the loss, which reads h_T only: dh = readout, dc = 0.
    "h_T" (B, n).
    """
    if not isinstance(module, LSTM) or module.num_layers != 1 or module.bidirectional:
        raise ValueError("module: expected a one-layer, one-direction lstm_lib.modules.LSTM")
    n, d = module.hidden_size, module.input_size
    if not isinstance(x, torch.Tensor) or not isinstance(readout, torch.Tensor):
        raise TypeError("x and readout: expected torch tensors")
    check_array(x, "x", (None, None, d), ("T", "B", "d"))
    check_array(readout, "readout", (n,), ("n",))
    T, B = x.shape[0], x.shape[1]
    dtype = module.weight_ih_l0.dtype
    for name, a in (("x", x), ("readout", readout)):
        if a.dtype != dtype:
            raise TypeError(f"{name}: expected dtype {dtype} (the module's), got {a.dtype}")
    h = torch.zeros(1, B, n, dtype=dtype, requires_grad=True)
    c = torch.zeros(1, B, n, dtype=dtype, requires_grad=True)
    states = [(h, c)]
    for t in range(T):
        _, (h, c) = module(x[t:t + 1], (h, c))
        if t < T - 1:
            h.retain_grad()
            c.retain_grad()
            states.append((h, c))
    loss = (h[0] @ readout).sum()
    loss.backward()
    at_loss = {"dh": np.tile(readout.detach().numpy(), (B, 1)),   # gap 0: the loss reads h_T,
               "dc": np.zeros((B, n))}                             # and not c_T
    grads = {name: np.stack([at_loss[name]] + [s[k].grad[0].detach().numpy()
                                                for s in reversed(states)]).astype(np.float64)
             for k, name in enumerate(("dh", "dc"))}
    return {"dc": grads["dc"], "dh": grads["dh"], "h_T": h[0].detach().numpy().astype(np.float64)}


def gradient_at_init(schemes=INIT_SCHEMES, seeds=GRADIENT_INIT_SEEDS, T=GRADIENT_INIT_T,
                     batch_size=GRADIENT_INIT_BATCH, input_size=GRADIENT_INIT_INPUT_SIZE,
                     hidden_size=GRADIENT_INIT_HIDDEN_SIZE) -> dict:
    """How much gradient reaches the state k steps back, for each initialization.

    For each seed: an LSTM from :func:`init_lstm`, inputs x ~ N(0, 1) of
    shape (T, B, d) and a unit readout w, both drawn from the seed (the same
    for every scheme). Returns {"gap": 0..T, scheme: {"dc": (T + 1,),
    "dh": (T + 1,), "dc_all": (seeds, T + 1, B)}} where "dc" and "dh" are
    medians, over seeds and examples, of ||dL/dc_{T-k}|| and ||dL/dh_{T-k}||
    (:func:`state_gradients`: at gap 0, 0 and ||dL/dh_T|| = 1).
    """
    T = check_positive_int(T, "T")
    B = check_positive_int(batch_size, "batch_size")
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    out = {"gap": np.arange(T + 1)}
    data = []
    for seed in seeds:
        g = torch.Generator().manual_seed(20_000 + seed)
        x = torch.randn(T, B, d, generator=g, dtype=torch.float64)
        w = torch.randn(n, generator=g, dtype=torch.float64)
        data.append((x, w / w.norm()))
    for scheme in schemes:
        dc, dh = [], []
        for seed, (x, w) in zip(seeds, data):
            grads = state_gradients(init_lstm(scheme, d, n, seed), x, w)
            dc.append(np.linalg.norm(grads["dc"], axis=-1))
            dh.append(np.linalg.norm(grads["dh"], axis=-1))
        dc, dh = np.stack(dc), np.stack(dh)                         # (seeds, T + 1, B)
        out[scheme] = {"dc": np.median(dc, axis=(0, 2)), "dh": np.median(dh, axis=(0, 2)),
                       "dc_all": dc}
    return out


def per_step_factor(values, k0, k1) -> float:
    """The geometric-mean factor per step between gaps k0 < k1: (v[k1] / v[k0]) ** (1 / (k1 - k0)).

    values: a curve over the gaps k = 0..K (row k is gap k), as in
    :func:`gradient_at_init`, positive at k0 and k1. A value of 0.8 means the
    gradient loses a fifth of its size with every step further back.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values: expected a 1-D curve, got shape {v.shape}")
    K = v.shape[0] - 1
    k0 = check_index(k0, "k0", 0, K)
    k1 = check_index(k1, "k1", 0, K)
    if not k0 < k1:
        raise ValueError(f"k0, k1: expected 0 <= k0 < k1 <= {K}, got k0={k0}, k1={k1}")
    a, b = v[k0], v[k1]
    if not (a > 0 and b > 0 and np.isfinite(a) and np.isfinite(b)):
        raise ValueError(f"values: expected positive finite values at k0 and k1, got {a}, {b}")
    return float((b / a) ** (1.0 / (k1 - k0)))



def carry_line_gradients(module, x, readout) -> np.ndarray:
    """The gradient that reaches each cell state along the carry line alone.

    module, x, readout as in :func:`state_gradients` (L = sum_b readout . h_T^{(b)}).
    The carry line keeps the gradient on the cell state, never leaving it for
    h: at gap k it is (f_{T-k+1} ⊙ ... ⊙ f_T) ⊙ dL/dc_T, where
    dL/dc_T = w ⊙ o_T ⊙ (1 - tanh² c_T) is what the loss hands c_T through
    h_T. Computed from the numpy reference's forward pass, in float64.
    Returns (T + 1, B, n), row k for gap k (row 0 is 0: the loss reads h_T
    only). With a zero recurrent matrix it equals :func:`state_gradients`'s "dc".
    """
    from ..reference import lstm_forward
    from ..weights import lstm_params_from_torch
    if not isinstance(module, LSTM) or module.num_layers != 1 or module.bidirectional:
        raise ValueError("module: expected a one-layer, one-direction lstm_lib.modules.LSTM")
    if not isinstance(x, torch.Tensor) or not isinstance(readout, torch.Tensor):
        raise TypeError("x and readout: expected torch tensors")
    n, d = module.hidden_size, module.input_size
    check_array(x, "x", (None, None, d), ("T", "B", "d"))
    check_array(readout, "readout", (n,), ("n",))
    w = readout.detach().to(torch.float64).numpy()
    trace = lstm_forward(lstm_params_from_torch(module), x.detach().to(torch.float64).numpy())
    T, B = x.shape[0], x.shape[1]
    g_c = w * trace.o[-1] * (1.0 - np.tanh(trace.c[-1]) ** 2)      # dL/dc_T, (B, n)
    rows = [np.zeros((B, n))]
    for k in range(1, T + 1):
        g_c = g_c * trace.f[T - k]                                    # one more step back
        rows.append(g_c)
    return np.stack(rows)


def carry_line_at_init(scheme, seeds=GRADIENT_INIT_SEEDS, T=GRADIENT_INIT_T,
                       batch_size=GRADIENT_INIT_BATCH, input_size=GRADIENT_INIT_INPUT_SIZE,
                       hidden_size=GRADIENT_INIT_HIDDEN_SIZE) -> dict:
    """The carry line alone (:func:`carry_line_gradients`), on the LSTMs and data of
    :func:`gradient_at_init`.

    Returns {"gap": 0..T, "carry": (T + 1,) median over seeds and examples
    of its norm, "mean_f": the mean forget gate over every step, example,
    unit and seed}.
    """
    from ..reference import lstm_forward
    from ..weights import lstm_params_from_torch
    T = check_positive_int(T, "T")
    B = check_positive_int(batch_size, "batch_size")
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    norms, f_sum, f_count = [], 0.0, 0
    for seed in seeds:
        g = torch.Generator().manual_seed(20_000 + seed)          # the data of gradient_at_init
        x = torch.randn(T, B, d, generator=g, dtype=torch.float64)
        w = torch.randn(n, generator=g, dtype=torch.float64)
        module = init_lstm(scheme, d, n, seed)
        norms.append(np.linalg.norm(carry_line_gradients(module, x, w / w.norm()), axis=-1))
        f = lstm_forward(lstm_params_from_torch(module), x.numpy()).f
        f_sum += float(f.sum())
        f_count += f.size
    return {"gap": np.arange(T + 1), "carry": np.median(np.stack(norms), axis=(0, 2)),
            "mean_f": f_sum / f_count}
