"""Training utilities for the lab: a model head, losses, clipping, the loop, evaluation.

The recurrent layer is ``lstm_lib.modules.LSTM``, ``GRU`` or ``RNN``
(never ``torch.nn.LSTM``); :class:`SequenceModel` adds a linear readout
y_hat = W_y h_t + b_y, read at each sequence's last step or at every step.

Gradient clipping is by the global norm over all parameters (Pascanu,
Mikolov and Bengio, 2013)::

    g = (dL/dtheta_1, ..., dL/dtheta_P),   ||g||_2 = sqrt(sum_p ||dL/dtheta_p||^2)
    if ||g||_2 > tau:  g <- tau * g / ||g||_2

:func:`train` runs Adam on batches drawn one by one, records the global
gradient norm of every step (before clipping), evaluates every
``eval_every`` steps and stops early when asked to.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_in_range, check_positive_int
from ..modules import GRU, LSTM, RNN
from ..weights import gru_param_count, lstm_param_count, rnn_param_count, set_gate_bias
from .progress import progress_bar
from .tasks import Batch

__all__ = ["SequenceModel", "make_model", "global_grad_norm", "clip_grad_norm",
           "mse_loss", "class_loss", "copy_loss", "regression_metrics",
           "classification_metrics", "copy_metrics", "train", "first_crossing",
           "set_deterministic", "parameter_count", "hidden_for_parameters", "truncated_mse_loss",
           "adding_metrics"]

CELLS = ("lstm", "gru", "rnn")


def set_deterministic(threads=1):
    """Fix what makes a CPU run repeatable: the thread count and deterministic kernels."""
    torch.set_num_threads(check_positive_int(threads, "threads"))
    torch.use_deterministic_algorithms(True)


class SequenceModel(nn.Module):
    """A recurrent layer and a linear readout.

    cell: "lstm" (``lstm_lib.modules.LSTM``), "gru" (``lstm_lib.modules.GRU``) or
    "rnn" (``lstm_lib.modules.RNN``, tanh).
    readout: "last" gives (B, output_size), read at step L_b of each sequence
    (the last step when ``lengths`` is None); "all" gives (T, B, output_size).
    forget_bias: the LSTM's effective b_f (None keeps PyTorch's uniform draw).
    input_bias: the LSTM's effective b_i (None keeps the uniform draw); a
    negative b_i keeps the input gate nearly shut at the start, the remedy
    Hochreiter and Schmidhuber (1997) used against drift of the cell state.
    """

    def __init__(self, cell, input_size, hidden_size, output_size, readout="last",
                 forget_bias=None, num_layers=1, input_bias=None):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell: expected one of {CELLS}, got {cell!r}")
        if readout not in ("last", "all"):
            raise ValueError(f"readout: expected 'last' or 'all', got {readout!r}")
        name = {"rnn": "an RNN", "gru": "a GRU"}.get(cell)
        if name and forget_bias is not None:
            raise ValueError(f"forget_bias: {name} has no forget gate, got forget_bias={forget_bias!r}")
        if name and input_bias is not None:
            raise ValueError(f"input_bias: {name} has no input gate, got input_bias={input_bias!r}")
        self.cell, self.readout = cell, readout
        if cell == "lstm":
            self.rnn = LSTM(input_size, hidden_size, num_layers, forget_bias=forget_bias)
            if input_bias is not None:
                set_gate_bias(self.rnn, "i", input_bias)
        elif cell == "gru":
            self.rnn = GRU(input_size, hidden_size, num_layers)
        else:
            self.rnn = RNN(input_size, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, check_positive_int(output_size, "output_size"))

    def forward(self, x, lengths=None):
        x = x.to(self.head.weight.dtype)                    # the tasks make float32; a float64 model reads float64
        h, _ = self.rnn(x)                                  # (T, B, n): h_t at every step
        if self.readout == "all":
            return self.head(h)
        if lengths is None:
            return self.head(h[-1])
        T, B = h.shape[0], h.shape[1]
        if lengths.shape != (B,) or int(lengths.min()) < 1 or int(lengths.max()) > T:
            raise ValueError(f"lengths: expected (B={B},) integers in [1, T={T}], "
                             f"got shape {tuple(lengths.shape)}, values "
                             f"[{int(lengths.min())}, {int(lengths.max())}]")
        return self.head(h[lengths - 1, torch.arange(B)])   # h at step L_b of each sequence


def make_model(cell, input_size, hidden_size, output_size, readout="last",
               forget_bias=None, num_layers=1, seed=0, input_bias=None, dtype=torch.float32):
    """A :class:`SequenceModel` whose initial weights depend only on ``seed``.

    dtype: float32 (the lab's runs) or float64. The weights are drawn in float32
    and then converted, so both dtypes start from the same values. The chapters
    train in float64: float32 training takes other paths on CPUs whose kernels
    round differently, and a notebook's numbers must reproduce on any machine.
    """
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {dtype!r}")
    torch.manual_seed(seed)
    return SequenceModel(cell, input_size, hidden_size, output_size, readout,
                         forget_bias, num_layers, input_bias).to(dtype)


def parameter_count(cell, input_size, hidden_size, output_size, num_layers=1) -> int:
    """Parameters of a :class:`SequenceModel`: the recurrent layer (torch.nn's two biases)
    and the read-out's n * output_size + output_size."""
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {CELLS}, got {cell!r}")
    count = {"lstm": lstm_param_count, "gru": gru_param_count, "rnn": rnn_param_count}[cell]
    out = check_positive_int(output_size, "output_size")
    return count(input_size, hidden_size, num_layers) + hidden_size * out + out


def hidden_for_parameters(cell, input_size, output_size, target, num_layers=1) -> int:
    """The hidden size n whose :func:`parameter_count` is nearest ``target`` (the smaller
    n on a tie): how the lab compares models at an equal parameter count."""
    target = check_positive_int(target, "target")
    n = 1
    while parameter_count(cell, input_size, n + 1, output_size, num_layers) <= target:
        n += 1
    below = parameter_count(cell, input_size, n, output_size, num_layers)
    above = parameter_count(cell, input_size, n + 1, output_size, num_layers)
    return n + 1 if above - target < target - below else n


# --------------------------------------------------------------------------- gradient norm

def _grads(parameters):
    return [p.grad for p in parameters if p.grad is not None]


def global_grad_norm(parameters) -> float:
    """||g||_2 over every parameter's gradient, as if they were one long vector."""
    grads = _grads(list(parameters))
    if not grads:
        return 0.0
    return float(torch.sqrt(sum((g.detach().double() ** 2).sum() for g in grads)))


def clip_grad_norm(parameters, max_norm) -> float:
    """Rescale all gradients by tau/||g||_2 if the global norm ||g||_2 exceeds tau = max_norm.

    Returns the norm before clipping. Directions are kept; only the length changes.
    """
    check_in_range(max_norm, "max_norm", 0, None, inclusive=False)
    parameters = list(parameters)
    norm = global_grad_norm(parameters)
    if norm > max_norm:
        scale = max_norm / norm
        with torch.no_grad():
            for g in _grads(parameters):
                g.mul_(scale)
    return norm


# --------------------------------------------------------------------------- losses and metrics

def mse_loss(model, batch: Batch):
    """Mean squared error of the answer read at each sequence's end. Returns (loss, y_hat (B,))."""
    y_hat = model(batch.x, batch.lengths).squeeze(-1)
    return ((y_hat - batch.y) ** 2).mean(), y_hat


def truncated_mse_loss(k):
    """:func:`mse_loss` with backpropagation through time truncated to chunks of ``k`` steps.

    The sequence is cut into chunks of ``k`` steps from its start (the last one
    may be shorter). The recurrent layer runs chunk by chunk, each chunk
    starting from the state the previous one ended in, *detached*: the forward
    pass is exactly the untruncated one, but no gradient crosses a chunk
    boundary. The loss is read at the end, so its gradient reaches only the
    steps of the last chunk. For sequences of one length (``batch.lengths`` None).
    Returns loss_fn(model, batch) -> (loss, y_hat (B,)).
    """
    k = check_positive_int(k, "k")

    def loss_fn(model, batch: Batch):
        if batch.lengths is not None:
            raise ValueError("batch: truncated_mse_loss expects sequences of one length "
                             "(lengths None), got a batch with lengths")
        x = batch.x.to(model.head.weight.dtype)
        state = None
        for start in range(0, x.shape[0], k):
            if state is not None:                            # carry the state, cut the gradient
                state = (tuple(s.detach() for s in state) if isinstance(state, tuple)
                         else state.detach())
            h, state = model.rnn(x[start:start + k], state)
        y_hat = model.head(h[-1]).squeeze(-1)
        return ((y_hat - batch.y) ** 2).mean(), y_hat

    return loss_fn


def class_loss(model, batch: Batch):
    """Cross-entropy of the class read at each sequence's end. Returns (loss, logits (B, C))."""
    logits = model(batch.x, batch.lengths)
    return F.cross_entropy(logits, batch.y), logits


def copy_loss(model, batch: Batch):
    """Cross-entropy per step (nats), averaged over all T + 20 steps and the batch.

    This is the average of Arjovsky et al. (2016), the one whose memoryless
    baseline is 10 ln 8 / (T + 20). Returns (loss, logits (T, B, C)).
    """
    logits = model(batch.x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.y.reshape(-1)), logits


def _answers(model, batch: Batch):
    """The model's answer to each sequence of the batch, (B,), read in eval mode."""
    model.eval()
    y_hat = model(batch.x, batch.lengths).squeeze(-1)
    model.train()
    return y_hat


def _regression(y_hat, y, tol) -> dict:
    err = y_hat - y
    return {"mse": float((err ** 2).mean()), "within_tol": float((err.abs() < tol).float().mean())}


@torch.no_grad()
def regression_metrics(model, batch: Batch, tol=0.04) -> dict:
    """{"mse": test MSE, "within_tol": fraction of answers with absolute error < tol}."""
    return _regression(_answers(model, batch), batch.y, tol)


@torch.no_grad()
def adding_metrics(model, batch: Batch, tol=0.04) -> dict:
    """:func:`regression_metrics` on an adding-problem batch, and what the answer uses.

    Adds "w_first" and "w_second": the least-squares weights of the answer
    y_hat on the two marked values, y_hat ~ a + w_first v_{p_1} + w_second v_{p_2}
    (positions from ``batch.meta["positions"]``). A network that adds both has
    weights near 1; one that ignores the first marked value has w_first near 0.
    """
    y_hat = _answers(model, batch)                 # one pass serves both
    metrics = _regression(y_hat, batch.y, tol)
    y_hat = y_hat.double()
    pos, cols = batch.meta["positions"], torch.arange(batch.x.shape[1])
    v = batch.x[:, :, 0].double()
    design = torch.stack([torch.ones_like(y_hat), v[pos[:, 0], cols], v[pos[:, 1], cols]], dim=1)
    coef = torch.linalg.lstsq(design, y_hat.unsqueeze(1)).solution.squeeze(1)
    return dict(metrics, w_first=float(coef[1]), w_second=float(coef[2]))


@torch.no_grad()
def classification_metrics(model, batch: Batch) -> dict:
    """{"loss": cross-entropy, "accuracy": fraction of sequences whose arg-max class is right}."""
    model.eval()
    logits = model(batch.x, batch.lengths)
    model.train()
    return {"loss": float(F.cross_entropy(logits, batch.y)),
            "accuracy": float((logits.argmax(-1) == batch.y).float().mean())}


@torch.no_grad()
def copy_metrics(model, batch: Batch, length=10) -> dict:
    """{"ce": cross-entropy per step over all steps, "copy_accuracy": fraction of the
    last ``length`` symbols reproduced exactly}."""
    model.eval()
    logits = model(batch.x)
    model.train()
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.y.reshape(-1))
    hit = logits[-length:].argmax(-1) == batch.y[-length:]
    return {"ce": float(ce), "copy_accuracy": float(hit.float().mean())}


# --------------------------------------------------------------------------- the loop

def train(model, next_batch, loss_fn, steps, lr=1e-2, clip=1.0, evaluate=None,
          eval_every=50, stop_when=None, on_batch=None, progress=None, lr_at=None):
    """Train ``model`` with Adam for at most ``steps`` batches.

    next_batch(): the next training :class:`~lstm_lib.lab.tasks.Batch`.
    loss_fn(model, batch) -> (loss, output), e.g. :func:`mse_loss`.
    clip: tau for :func:`clip_grad_norm`, or None for no clipping.
    evaluate(model) -> dict of metrics, run every ``eval_every`` steps (and at step 0).
    stop_when(metrics) -> bool: stop after an evaluation that satisfies it.
    on_batch(batch, output) -> bool: called after every step; True stops training
    (Experiment 4's criterion judges the training stream this way).
    progress: a tqdm-like object with ``update(k)`` and ``set_postfix_str(s)``; or a
    string, to draw a bar with that label and close it at the end (none when
    ``LSTM_LIB_NO_PROGRESS`` is set, see :mod:`lstm_lib.lab.progress`); or None.
    lr_at(step) -> the learning rate of step 1..steps (a schedule); None keeps ``lr``.

    Returns a history dict: "step" and "sequences" at each evaluation, one list
    per metric, "grad_norm" (global norm before clipping, every step),
    "first_grad_norm", "steps_run", "sequences_seen", "stopped" ("metric",
    "on_batch" or None) and "seconds".
    """
    steps = check_positive_int(steps, "steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    check_in_range(lr, "lr", 0, None, inclusive=False)
    if clip is not None:
        check_in_range(clip, "clip", 0, None, inclusive=False)
    if isinstance(progress, str):
        bar = progress_bar(steps, progress)
        try:
            return train(model, next_batch, loss_fn, steps, lr, clip, evaluate, eval_every,
                         stop_when, on_batch, bar, lr_at)
        finally:
            if bar is not None:
                bar.close()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    history = {"step": [], "sequences": [], "grad_norm": [], "stopped": None}
    seen = 0
    start = time.perf_counter()

    def record(step):
        metrics = evaluate(model)
        history["step"].append(step)
        history["sequences"].append(seen)
        for k, v in metrics.items():
            history.setdefault(k, []).append(v)
        if progress is not None:
            progress.set_postfix_str(", ".join(f"{k}={v:.3g}" for k, v in metrics.items()))
        return metrics

    if evaluate is not None:
        record(0)
    step = 0
    for step in range(1, steps + 1):
        batch = next_batch()
        loss, output = loss_fn(model, batch)
        if not math.isfinite(loss.item()):
            history["stopped"] = "non-finite loss"
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = clip_grad_norm(params, clip) if clip is not None else global_grad_norm(params)
        history["grad_norm"].append(norm)
        if lr_at is not None:
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
        opt.step()
        seen += batch.x.shape[1]
        if progress is not None:
            progress.update(1)
        if on_batch is not None and on_batch(batch, output.detach()):
            history["stopped"] = "on_batch"
        if evaluate is not None and (step % eval_every == 0 or history["stopped"] or step == steps):
            metrics = record(step)
            if stop_when is not None and stop_when(metrics):
                history["stopped"] = history["stopped"] or "metric"
        if history["stopped"]:
            break
    history["first_grad_norm"] = history["grad_norm"][0] if history["grad_norm"] else float("nan")
    history["steps_run"] = step
    history["sequences_seen"] = seen
    history["seconds"] = time.perf_counter() - start
    return history


def first_crossing(history, metric, threshold, below=True):
    """Sequences seen at the first evaluation where ``metric`` is below (or above)
    ``threshold``; None if it never is. The resolution is ``eval_every`` batches."""
    values = history.get(metric, [])
    for seq, v in zip(history["sequences"], values):
        if (v < threshold) if below else (v > threshold):
            return seq
    return None

