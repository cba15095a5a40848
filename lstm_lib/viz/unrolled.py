"""Chapter 1: the tanh RNN unrolled in time, and backpropagation through it.

:func:`bptt_figure` draws a few steps of ``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)``
(one box per hidden state, the forward arrows through ``W_hh``, each input
``x_t`` from below, the loss ``L`` read from ``h_T``) and, dashed, the way back:
the gradient enters at ``h_T`` as ``∂L/∂h_T`` and crosses each step through
its Jacobian ``J_s = ∂h_s/∂h_{s−1}``, so that under the drawing
``∂h_T/∂h_{T−k}`` is the product ``J_T J_{T−1} ⋯ J_{T−k+1}``, one factor per
step crossed.

Forward arrows are thin, solid and grey; backward arrows thick, dashed and
coloured, so the two read apart in grey scale as well. The drawing is a
:class:`~lstm_lib.viz.scene.Scene` like the LSTM cell's (same fonts, same
smallest text, ``MIN_FONT``), shown as SVG on the website and as a PNG
elsewhere; its alt text comes from the notebook.
"""
from __future__ import annotations

from . import scene as S
from .scene import Box, Path, Scene, Text

WIDTH = 400.0
MIN_FONT = 13.5          # as the cell diagram: 11.3 px when a phone shows it 336 px wide
FULL_SCALE, SMALL_SCALE = 1.5, 1.0
STEPS = (2, 3, 4)        # how many hidden states can be drawn legibly in 400 units
NODE_W, NODE_H = 58.0, 32.0
NODE_Y, LOSS_Y, BACK_Y, X_Y = 104.0, 26.0, 140.0, 200.0
V = 17.0


def _index(k: int) -> str:
    """The markup of time index T − k."""
    return "T" if k == 0 else f"T−{k}"


def bptt_scene(steps: int = 4) -> Scene:
    """The unrolled RNN with ``steps`` hidden states (h_{T−steps+1} .. h_T) as a :class:`Scene`."""
    if steps not in STEPS:
        raise ValueError(f"steps: expected one of {STEPS} (more would not be legible on a "
                         f"phone), got {steps!r}")
    left, right = 44.0, WIDTH - 60.0
    gap = (right - left) / (steps - 1) if steps > 1 else 0.0
    xs = [left + j * gap for j in range(steps)]
    lag = [steps - 1 - j for j in range(steps)]           # node j is h_{T - lag[j]}
    items, on = [], set()

    # forward: arrows between hidden states through W_hh, inputs from below
    items.append(Path("fwd:in", ((2.0, NODE_Y), (xs[0] - NODE_W / 2, NODE_Y)), arrow=True))
    for j in range(steps - 1):
        items.append(Path(f"fwd:{j}", ((xs[j] + NODE_W / 2, NODE_Y),
                                       (xs[j + 1] - NODE_W / 2, NODE_Y)), arrow=True))
        items.append(Text(f"label:W{j}", (xs[j] + xs[j + 1]) / 2, NODE_Y - 12, "W_{hh}", 15.0,
                          font="var"))
    for j, x in enumerate(xs):
        items.append(Path(f"x:{j}", ((x, X_Y - 18), (x, NODE_Y + NODE_H / 2)), arrow=True))
        items.append(Text(f"label:x{j}", x, X_Y, f"x_{{{_index(lag[j])}}}", V, font="var"))
        items.append(Box(f"node:{j}", x, NODE_Y, NODE_W, NODE_H))
        items.append(Text(f"label:h{j}", x, NODE_Y + 6, f"h_{{{_index(lag[j])}}}", V, font="var"))
    # the loss, read from h_T, and the gradient that comes back from it
    xl = xs[-1]
    items.append(Box("loss", xl, LOSS_Y, 44, 30))
    items.append(Text("label:loss", xl, LOSS_Y + 6, "L", V, font="var"))
    items.append(Path("fwd:loss", ((xl + 8, NODE_Y - NODE_H / 2), (xl + 8, LOSS_Y + 15)), arrow=True))
    items.append(Path("back:loss", ((xl - 8, LOSS_Y + 15), (xl - 8, NODE_Y - NODE_H / 2)),
                      arrow=True, dashed=True))
    items.append(Text("label:dL", xl - 16, (LOSS_Y + NODE_Y) / 2 + 2, "∂L/∂h_{T}", 15.0,
                      "end", "eq"))
    on |= {"back:loss"}
    # backward: from each hidden state to the one before, through its Jacobian
    for j in range(steps - 1, 0, -1):
        a, b = xs[j], xs[j - 1]
        pts = ((a - 14, NODE_Y + NODE_H / 2), (a - 14, BACK_Y), (b + 14, BACK_Y),
               (b + 14, NODE_Y + NODE_H / 2))
        items.append(Path(f"back:{j}", pts, arrow=True, dashed=True))
        items.append(Text(f"label:J{j}", (a + b) / 2, BACK_Y + 22, f"J_{{{_index(lag[j])}}}", V,
                          font="var"))
        on.add(f"back:{j}")
    # the products, one line per gap, and what J_s is
    y = X_Y + 40
    for k in range(1, steps):
        prod = " ".join(f"J_{{{_index(m)}}}" for m in range(k))
        items.append(Text(f"prod:{k}", 8, y, f"∂h_{{T}}/∂h_{{{_index(k)}}} = {prod}", 16.0,
                          "start", "eq"))
        y += 26
    items.append(Text("def:J", 8, y + 2, "J_{s} = diag(1 − h_{s} ⊙ h_{s}) W_{hh}", 16.0, "start", "eq"))
    y += 36
    items.append(Path("key:fwd", ((8, y - 5), (36, y - 5))))
    items.append(Text("key:0", 44, y, "forward: h_{t} = tanh(W_{xh} x_{t} + W_{hh} h_{t−1} + b_{h})",
                      MIN_FONT, "start"))
    y += 22
    items.append(Path("key:back", ((8, y - 5), (36, y - 5)), dashed=True))
    items.append(Text("key:1", 44, y, "backward: one Jacobian per step crossed", MIN_FONT, "start"))
    on.add("key:back")
    return Scene(WIDTH, y + 10, tuple(items), frozenset(on), MIN_FONT)


def bptt_figure(*, alt: str, steps: int = 4, size: str = "full") -> S.SceneFigure:
    """The unrolled RNN and its backward product of Jacobians, for a notebook cell.

    alt: the figure's alt text (the notebook's words; the caption goes in the
      cell's ``mystnb`` metadata). steps: hidden states drawn (2 to 4).
    size: ``"full"`` (600 px wide where there is room) or ``"small"`` (400 px).
    """
    if size not in ("full", "small"):
        raise ValueError(f"size: expected 'full' or 'small', got {size!r}")
    return S.SceneFigure(bptt_scene(steps), alt, scale=FULL_SCALE if size == "full" else SMALL_SCALE)
