"""Encoder-decoder models for associative recall: an LSTM reads the pairs, a decoder answers.

The encoder, ``lstm_lib.modules.LSTM`` with n units, reads the L (key, value)
pairs of :func:`lstm_lib.lab.tasks.associative_recall` and leaves its hidden
states h_1..h_L (L, B, n). Then each question, a key k, is answered. Two
decoders, the same in everything else (Chapter 9):

* **bottleneck** (``attention=False``): the answer to key k is read linearly
  from the encoder's last state alone, logits = R_k h_L + r_k, with one
  readout (R_k, r_k) per key. All the decoder knows of the L pairs is h_L,
  n numbers.
* **attention** (``attention=True``): the same readout plus W_a a, where a is
  dot-product attention over *every* encoder state: the question's query
  u_k (a learned vector per key, drawn from N(0, n) at the start) is compared
  with each h_i, and a is the weighted mean of the h_i
  (:func:`lstm_lib.attention.attention`, scaled by 1/sqrt(n)). This is the decoder of Bahdanau, Cho and Bengio (2015) with a
  dot-product score (Luong, Pham and Manning, 2015), cut down to one step.

A linear readout is what makes the bottleneck's capacity a theorem: L
affine functions of h_L split R^n into at most sum_{i<=n} C(L, i) regions
(:func:`readout_regions`), fewer than the 2^L patterns of L binary answers
once L > n, so some patterns always come out wrong.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import attention as dot_attention
from ..checks import check_positive_int
from ..modules import LSTM
from .tasks import Batch

__all__ = ["EncoderDecoder", "make_encoder_decoder", "split_recall", "recall_loss",
           "recall_metrics", "readout_regions", "MODELS"]

MODELS = ("bottleneck", "attention")


def readout_regions(n, L) -> int:
    """The most regions that L affine hyperplanes cut R^n into: sum_{i=0}^{n} C(L, i).

    Each region is one pattern of L thresholded linear readouts of a point of
    R^n, so at most this many of the 2^L answer patterns can be read off
    correctly (Schläfli's count; Cover, 1965). It equals 2^L when L <= n.
    """
    n = check_positive_int(n, "n")
    L = check_positive_int(L, "L")
    return sum(math.comb(L, i) for i in range(min(n, L) + 1))


class EncoderDecoder(nn.Module):
    """An LSTM encoder and a linear decoder per key, with or without dot-product attention.

    keys: the number of distinct keys (L); values: distinct values; hidden_size: n.
    forward(source (L, B, keys + values), questions (Q, B, keys + values)) -> logits
    (Q, B, values); the questions' key columns are one-hot. With ``return_weights``
    also the attention weights (B, Q, L) (None without attention).
    """

    def __init__(self, keys, values, hidden_size, attention=False, forget_bias=1.0):
        super().__init__()
        if not isinstance(attention, bool):
            raise TypeError(f"attention: expected a bool, got {attention!r}")
        self.keys = check_positive_int(keys, "keys")
        self.values = check_positive_int(values, "values")
        n = check_positive_int(hidden_size, "hidden_size")
        self.attention = attention
        self.encoder = LSTM(keys + values, n, forget_bias=forget_bias)
        self.readout = nn.Linear(n, keys * values)           # R_k, r_k for every key k, stacked
        if attention:
            self.query = nn.Linear(keys, n, bias=False)      # u_k: column k of the weight
            self.context = nn.Linear(n, values, bias=False)  # W_a
            # Queries start large, N(0, n) per entry, so that the scores u_k . h_i / sqrt(n)
            # start as large as h's entries: with PyTorch's small default the weights start
            # uniform over the pairs, and training waits long before they break symmetry.
            nn.init.normal_(self.query.weight, 0.0, math.sqrt(n))

    def forward(self, source, questions, return_weights=False):
        dtype = self.readout.weight.dtype
        source, questions = source.to(dtype), questions.to(dtype)   # the tasks make float32
        width = self.keys + self.values
        if source.ndim != 3 or source.shape[-1] != width or questions.shape[1:] != source.shape[1:]:
            raise ValueError(f"source, questions: expected (L, B, keys + values = {width}) each, "
                             f"got {tuple(source.shape)} and {tuple(questions.shape)}")
        H, (h_L, _) = self.encoder(source)                   # H: (L, B, n), every encoder state
        B = source.shape[1]
        asked = questions[..., :self.keys]                   # (Q, B, keys), one-hot
        k = asked.argmax(-1)                                 # (Q, B): the key asked
        table = self.readout(h_L[0]).view(B, self.keys, self.values)   # every key's logits
        logits = table[torch.arange(B), k]                   # (Q, B, values): the asked ones
        weights = None
        if self.attention:
            states = H.transpose(0, 1)                       # (B, L, n): batch in front
            u = self.query(asked).transpose(0, 1)            # (B, Q, n): one query per question
            a, weights = dot_attention(u, states, states, return_weights=True)
            logits = logits + self.context(a.transpose(0, 1))
        return (logits, weights) if return_weights else logits


def make_encoder_decoder(model, keys, values, hidden_size, forget_bias=1.0, seed=0,
                         dtype=torch.float32):
    """An :class:`EncoderDecoder` whose initial weights depend only on ``seed``.

    model: "bottleneck" (no attention) or "attention". The weights are drawn in
    float32 and then converted, so both dtypes start from the same values.
    """
    if model not in MODELS:
        raise ValueError(f"model: expected one of {MODELS}, got {model!r}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {dtype!r}")
    torch.manual_seed(seed)
    return EncoderDecoder(keys, values, hidden_size, attention=model == "attention",
                          forget_bias=forget_bias).to(dtype)


def split_recall(batch: Batch):
    """(source, questions) of an associative-recall batch: its first and second halves."""
    T = batch.x.shape[0]
    if T % 2:
        raise ValueError(f"batch.x: expected 2L steps (L pairs, then L questions), got {T}")
    return batch.x[: T // 2], batch.x[T // 2:]


def recall_loss(model, batch: Batch):
    """Cross-entropy of the answers, averaged over questions and sequences.
    Returns (loss, logits (L, B, values))."""
    logits = model(*split_recall(batch))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.y.reshape(-1)), logits


@torch.no_grad()
def recall_metrics(model, batch: Batch) -> dict:
    """{"loss": cross-entropy, "accuracy": fraction of questions answered right,
    "sequence_accuracy": fraction of sequences with every question answered right}."""
    model.eval()
    logits = model(*split_recall(batch))
    model.train()
    right = logits.argmax(-1) == batch.y                     # (L, B)
    return {"loss": float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                          batch.y.reshape(-1))),
            "accuracy": float(right.double().mean()),
            "sequence_accuracy": float(right.all(dim=0).double().mean())}
