"""Tests for lstm_lib.viz.diagram (Chapter 3): the cell drawing is legible (no two
labels overlap, nothing is clipped), the highlight differs by line width as
well as colour, the background is opaque white, and the stepper widget swaps
PNG bytes without an Output widget."""
import io

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from lstm_lib.viz import diagram as D
from lstm_lib.viz.plotting import PALETTE


@pytest.fixture(scope="module")
def figures():
    return {k: D.draw_cell(k) for k in D.STEP_KEYS}


def gid_artists(fig):
    out = {}
    for ax in fig.axes:
        for a in list(ax.lines) + list(ax.patches):
            if a.get_gid():
                out.setdefault(a.get_gid(), []).append(a)
    return out


@pytest.mark.parametrize("key", D.STEP_KEYS)
def test_no_labels_overlap_or_are_clipped(figures, key):
    fig = figures[key]
    assert len(D.text_boxes(fig)) >= 25
    assert D.text_overlaps(fig) == []
    assert D.texts_outside(fig) == []


def test_overlap_check_can_fail():
    fig = D.draw_cell("forget")
    ax = fig.axes[0]
    ax.text(*D.LABELS["f"][1:3], "a label on top of f_t", fontsize=12)
    assert D.text_overlaps(fig) != []


@pytest.mark.parametrize("key", D.STEP_KEYS)
def test_highlight_is_thicker_and_coloured(figures, key):
    step = D.get_step(key)
    parts = gid_artists(figures[key])
    assert step.highlight <= set(parts), step.highlight - set(parts)
    hi = {to_hex(PALETTE[1])}
    for gid, artists in parts.items():
        if gid.startswith("key:"):      # the legend: one thick sample, one thin
            (a,) = artists
            assert a.get_linewidth() == (D.HIGHLIGHT_WIDTH if gid == "key:on" else D.DIM_WIDTH)
            continue
        lit = gid in step.highlight
        for a in artists:
            if isinstance(a, (Line2D, FancyArrowPatch)):
                assert a.get_linewidth() == (D.HIGHLIGHT_WIDTH if lit else D.DIM_WIDTH), gid
                assert D.HIGHLIGHT_WIDTH >= 3 * D.DIM_WIDTH
                colour = to_hex(a.get_color() if isinstance(a, Line2D) else a.get_edgecolor())
            elif gid != "frame":
                assert a.get_linewidth() == (3.0 if lit else D.DIM_WIDTH), gid
                colour = to_hex(a.get_edgecolor())
            else:
                continue
            assert (colour in hi) == lit, (gid, colour)


def test_every_path_and_gate_is_drawn(figures):
    parts = gid_artists(figures["overview"])
    for name in D.PATHS:
        assert f"line:{name}" in parts
    for g in ("f", "i", "c", "o", "tanh"):
        assert f"box:{g}" in parts
    for name in D.NODES:
        assert f"node:{name}" in parts


def test_steps_follow_the_cell_in_order():
    assert D.STEP_KEYS == ("overview", "forget", "input", "update", "output")
    for s in D.STEPS:
        assert s.equations and s.title and s.reading and s.highlight
    assert "box:f" in D.get_step("forget").highlight
    assert {"box:i", "box:c"} <= D.get_step("input").highlight
    assert "node:add" in D.get_step("update").highlight
    assert {"box:o", "line:h_out"} <= D.get_step("output").highlight
    with pytest.raises(ValueError, match="expected one of"):
        D.get_step("gates")


@pytest.mark.parametrize("key", ["overview", "output"])
def test_png_is_opaque_white(key):
    img = mpimg.imread(io.BytesIO(D.cell_png(key)))
    assert img.shape[2] in (3, 4)
    if img.shape[2] == 4:
        assert np.all(img[:, :, 3] == 1.0)
    assert np.allclose(img[0, 0, :3], 1.0) and np.allclose(img[-1, -1, :3], 1.0)


def test_stepper_swaps_png_bytes():
    import ipywidgets as W

    captions = {key: f"Caption of {key} & more." for key in D.STEP_KEYS}   # the chapter's words
    box = D.cell_stepper(captions=captions)
    assert box.image.value == D.cell_png("overview")
    for key in D.STEP_KEYS[1:]:
        box.buttons.value = key
        assert box.image.value == D.cell_png(key)
        assert D.get_step(key).title.split(":")[0] in box.readout.value
        assert f"Caption of {key} &amp; more." in box.readout.value
    assert isinstance(box.buttons, W.ToggleButtons) and isinstance(box.image, W.Image)
    assert not any(isinstance(c, W.Output) for c in box.children)
    bare = D.cell_stepper("update")                             # no captions: the title only
    assert bare.readout.value == f"<p><b>{D.get_step('update').title}.</b> </p>"


def test_cell_image_is_the_png():
    img = D.cell_image("update")
    assert img.data == D.cell_png("update") and img.format == "png"
