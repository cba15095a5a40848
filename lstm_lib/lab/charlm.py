"""A character-level language model: lstm_lib's LSTM (or tanh RNN) reading text one character at a time.

The model reads character x_t as a one-hot vector e(x_t) in R^V and predicts
the next one with a softmax readout of the hidden state:

    h_t = LSTM(e(x_t), h_{t-1}, c_{t-1})          (or the tanh RNN)
    p(x_{t+1} = k | x_1..x_t) = softmax(W_y h_t + b_y)_k

:class:`CharLM` is that pair. Unlike :class:`lstm_lib.lab.train.SequenceModel`
it takes and returns the recurrent state, so training can carry the state from
one batch of a stream to the next (:class:`lstm_lib.lab.corpus.StreamBatches`).
Its ``rnn`` is ``lstm_lib.modules.LSTM`` or ``RNN`` and its state_dict keys are
``rnn.*`` and ``head.*``, as SequenceModel's, so ``analysis.lstm_trace`` reads it.

The score is **bits per character** (bpc): the average of -log2 p(x_{t+1}) over
every predicted character of a split, the length in bits of the code the model
would give the text. A model that knew nothing would pay log2 V = 6.6 bits.
:func:`sample` draws text with a temperature, reproducibly on any CPU.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_in_range, check_positive_int
from ..modules import LSTM, RNN
from ..weights import set_gate_bias
from .corpus import V, decode, encode, pieces

__all__ = ["CharLM", "make_charlm", "lm_loss", "log2_probs", "bits_per_char", "sample",
           "EVAL_STREAMS", "CELLS"]

CELLS = ("lstm", "rnn")
#: Evaluation reads a split as this many contiguous pieces side by side, each from a zero state.
EVAL_STREAMS = 32


class CharLM(nn.Module):
    """One recurrent layer (``lstm_lib.modules.LSTM`` or ``RNN``) and a softmax readout over V characters.

    forward(x (T, B) int64, state=None) -> (logits (T, B, V), state): state is
    (h, c) for the LSTM, h for the RNN, as the modules return them.
    """

    def __init__(self, cell, hidden_size, vocab_size=V, forget_bias=None, input_bias=None):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell: expected one of {CELLS}, got {cell!r}")
        for name, value in (("forget_bias", forget_bias), ("input_bias", input_bias)):
            if cell == "rnn" and value is not None:
                raise ValueError(f"{name}: an RNN has no gates, got {name}={value!r}")
        self.cell = cell
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        if cell == "lstm":
            self.rnn = LSTM(self.vocab_size, hidden_size, forget_bias=forget_bias)
            if input_bias is not None:
                set_gate_bias(self.rnn, "i", input_bias)
        else:
            self.rnn = RNN(self.vocab_size, hidden_size)
        self.head = nn.Linear(hidden_size, self.vocab_size)

    def forward(self, x, state=None):
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.dtype != torch.int64:
            got = (f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype}"
                   if isinstance(x, torch.Tensor) else type(x).__name__)
            raise ValueError(f"x: expected an int64 tensor (T, B) of character indices, got {got}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.vocab_size):
            raise ValueError(f"x: expected indices in [0, {self.vocab_size}), got values in "
                             f"[{int(x.min())}, {int(x.max())}]")
        onehot = F.one_hot(x, self.vocab_size).to(self.head.weight.dtype)
        h, state = self.rnn(onehot, state)
        return self.head(h), state


def make_charlm(cell, hidden_size, vocab_size=V, forget_bias=None, input_bias=None, seed=0,
                dtype=torch.float32):
    """A :class:`CharLM` whose initial weights depend only on ``seed`` (drawn in float32, then cast)."""
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {dtype!r}")
    torch.manual_seed(seed)
    return CharLM(cell, hidden_size, vocab_size, forget_bias, input_bias).to(dtype)


def _detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def lm_loss():
    """A loss for :func:`lstm_lib.lab.train.train` that carries the state across batches.

    Returns loss_fn(model, batch) -> (mean cross-entropy in nats, logits). The state
    left by one batch starts the next (detached: gradients stop at the batch
    boundary), and starts from zero when ``batch.meta["reset"]``.
    """
    carried = {"state": None}

    def loss_fn(model, batch):
        state = None if batch.meta.get("reset") else carried["state"]
        logits, state = model(batch.x, state)
        carried["state"] = _detach(state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.y.reshape(-1)), logits

    return loss_fn


@torch.no_grad()
def log2_probs(model, ids, streams=EVAL_STREAMS):
    """log2 p(x_{t+1} | x_1..x_t) of every predicted character, and where it stands.

    The text is read as ``streams`` contiguous pieces side by side, each from a
    zero state (:func:`lstm_lib.lab.corpus.pieces`). Returns (logp (N,), index (N,)):
    index[k] is the position in ``ids`` of the k-th predicted character, in order.
    """
    x, y, _ = pieces(ids, streams)
    was_training = model.training
    model.eval()
    logits, _ = model(torch.as_tensor(x))
    model.train(was_training)
    logp = torch.log_softmax(logits.double(), dim=-1)
    L, S = y.shape
    keep = y >= 0
    target = torch.as_tensor(np.where(keep, y, 0))
    lp = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1).numpy() / math.log(2)
    position = (np.arange(S)[None, :] * L + np.arange(L)[:, None]) + 1   # of the target in ids
    order = np.argsort(position[keep], kind="stable")
    return lp[keep][order], position[keep][order]


def bits_per_char(model, ids, streams=EVAL_STREAMS) -> float:
    """Average of -log2 p over every predicted character of ``ids`` (see :func:`log2_probs`)."""
    logp, _ = log2_probs(model, ids, streams)
    return float(-logp.mean())


@torch.no_grad()
def sample(model, prime, length, temperature=1.0, rng=0):
    """Text drawn from the model, one character at a time, after reading ``prime``.

    Each next character k is drawn with probability proportional to
    p_k^(1/temperature), that is softmax(z / temperature) of the readout's
    logits z: below 1 the draws keep to the likeliest characters, at 1 they
    follow the model's own probabilities. The computation runs in float64 (the
    model is cast for the purpose) and each draw is by the inverse of the
    cumulative distribution: with u from ``rng`` (a numpy Generator or seed),
    the character is the first k with P_1 + ... + P_k > u. A last-bit difference
    in P (another CPU's kernels) can change a draw only if u lies that close to
    a boundary, so the function also returns the smallest distance between any
    u and its nearest boundary: the caller can check it is far above 1e-12.

    Returns (text, margin).
    """
    length = check_positive_int(length, "length")
    check_in_range(temperature, "temperature", 0, None, inclusive=False)
    if not isinstance(prime, str) or not prime:
        raise ValueError(f"prime: expected a non-empty str to start from, got {prime!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    model64 = CharLM(model.cell, model.rnn.hidden_size, model.vocab_size).double()
    model64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    model64.eval()
    logits, state = model64(torch.as_tensor(encode(prime))[:, None])
    z = logits[-1, 0]
    out, margin = [], math.inf
    for _ in range(length):
        p = torch.softmax(z / temperature, dim=-1).numpy()
        cdf = np.cumsum(p)
        u = rng.random() * cdf[-1]
        k = int(np.searchsorted(cdf, u, side="right"))
        k = min(k, len(p) - 1)
        lower = cdf[k - 1] if k > 0 else 0.0
        margin = min(margin, u - lower, cdf[k] - u)
        out.append(k)
        logits, state = model64(torch.tensor([[k]]), state)
        z = logits[-1, 0]
    return decode(out), float(margin)
