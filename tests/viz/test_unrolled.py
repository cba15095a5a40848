"""Tests for lstm_lib.viz.unrolled (Chapter 1): the unrolled RNN and its backward product
of Jacobians is drawn legibly (no overlaps, nothing clipped, no text below MIN_FONT), the
backward arrows differ from the forward ones by style, width and colour, and every
Jacobian and product is labelled."""
import xml.etree.ElementTree as ET

import pytest
from matplotlib.colors import to_hex

from lstm_lib.viz import diagram as D
from lstm_lib.viz import scene as S
from lstm_lib.viz import unrolled as U


def labels(sc):
    return {t.key: S.plain(t.markup) for t in sc.texts()}


@pytest.mark.parametrize("steps", U.STEPS)
def test_every_state_jacobian_and_product_is_labelled(steps):
    sc = U.bptt_scene(steps)
    text = labels(sc)
    idx = ["T"] + [f"T−{k}" for k in range(1, steps)]
    for k in range(steps):
        assert f"h{idx[k]}" in text.values() and f"x{idx[k]}" in text.values()
    for k in range(steps - 1):
        assert f"J{idx[k]}" in text.values()
    # the product for the gap k has k factors, from J_T down
    for k in range(1, steps):
        want = "∂hT/∂h" + idx[k] + " = " + " ".join(f"J{idx[m]}" for m in range(k))
        assert text[f"prod:{k}"] == want
    assert sum(v == "Whh" for v in text.values()) == steps - 1
    assert "∂L/∂hT" in text.values() and text["def:J"] == "Js = diag(1 − hs ⊙ hs) Whh"


@pytest.mark.parametrize("steps", U.STEPS)
def test_backward_differs_from_forward_by_style_width_and_colour(steps):
    sc = U.bptt_scene(steps)
    paths = {it.key: it for it in sc.items if isinstance(it, S.Path)}
    back = {k for k in paths if k.startswith("back:")}
    fwd = {k for k in paths if k.startswith(("fwd:", "x:"))}
    assert len(back) == steps and len(fwd) == 2 * steps + 1   # arrows between, in, to L; inputs
    assert all(paths[k].dashed and k in sc.highlight for k in back)
    assert not any(paths[k].dashed or k in sc.highlight for k in fwd)
    fig = S.to_figure(sc)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].lines}
    for k in back:
        assert lines[k].get_linewidth() == S.HIGHLIGHT_WIDTH
        assert to_hex(lines[k].get_color()) == to_hex(S.HIGHLIGHT_COLOR)
    for k in fwd:
        assert lines[k].get_linewidth() == S.DIM_WIDTH


@pytest.mark.parametrize("steps", U.STEPS)
def test_legible_no_overlaps_nothing_clipped(steps):
    fig = S.to_figure(U.bptt_scene(steps), scale=U.FULL_SCALE)
    assert D.text_overlaps(fig) == [] and D.texts_outside(fig) == []
    assert U.MIN_FONT * 336 / U.WIDTH >= 11


def test_figure_output_and_errors():
    f = U.bptt_figure(alt="Four steps of the RNN and the gradient coming back.")
    data, _ = f._repr_mimebundle_()
    assert set(data) == {"image/svg+xml", "image/png", "text/plain"}
    svg = ET.fromstring(data["image/svg+xml"])
    sizes = [float(e.get("font-size")) for e in svg.iter() if e.get("font-size")]
    assert min(sizes) >= U.MIN_FONT
    assert f.width == U.WIDTH * U.FULL_SCALE
    assert U.bptt_figure(alt="x", size="small").width == U.WIDTH
    with pytest.raises(ValueError, match="steps"):
        U.bptt_scene(6)
    with pytest.raises(ValueError, match="size"):
        U.bptt_figure(alt="x", size="tiny")
    with pytest.raises(ValueError, match="alt"):
        U.bptt_figure(alt="")
