"""Tests for lstm_lib.viz.diagram (Chapter 3): the LSTM cell drawn by code.

* The clickable cell: every part is an SVG button (role, tab stop, name), its
  path names drawn items, and its entry holds its equation (TeX and the
  fallback), the shapes that flow through it and the worked step's numbers;
  those numbers are held against ``reference.lstm_forward`` and against
  ``torch.nn.LSTM`` with the same weights.
* The still figures (the stepper's five views, the named paths, the parts):
  no two labels overlap, nothing is clipped, every text is at least MIN_FONT,
  the highlight differs by width as well as colour, the background is white.
* The stepper widget swaps PNG bytes without an Output widget.
"""
import base64
import io
import json
import re
import xml.etree.ElementTree as ET

import matplotlib.image as mpimg
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon

from lstm_lib import reference, weights
from lstm_lib.chapters import gates
from lstm_lib.viz import diagram as D
from lstm_lib.viz import scene as S
from lstm_lib.viz.plotting import PALETTE

NS = {"s": "http://www.w3.org/2000/svg"}
PHONE_WIDTH = 336      # the website's column on a 390 px wide screen (measured)


@pytest.fixture(scope="module")
def worked():
    ex = gates.worked_example()
    step = reference.lstm_step(ex["params"], ex["x_t"], ex["h_prev"], ex["c_prev"])
    return ex, step


@pytest.fixture(scope="module")
def cell(worked):
    ex, step = worked
    return D.clickable(step, x_t=ex["x_t"], h_prev=ex["h_prev"], c_prev=ex["c_prev"],
                       alt="One LSTM cell; each part is a button.", caption="A caption & more.")


def parse(cell):
    """The clickable cell's SVG (an Element), its list entries by part, and its JSON data."""
    h = cell.html()
    svg = ET.fromstring(re.search(r"<svg .*?</svg>", h, re.S).group(0))
    entries = {}
    for m in re.finditer(r'<div class="lstmc-item" data-item="([a-z_]+)">.*?</table>(?:<p class="lstmc-w">.*?</p>)?</div>', h, re.S):
        entries[m.group(1)] = ET.fromstring(m.group(0))
    data = json.loads(re.search(r'<script type="application/json" class="lstmc-data">(.*?)</script>', h).group(1))
    return svg, entries, data


def text_of(el) -> str:
    return "".join(el.itertext())


# ------------------------------------------------------------ the clickable cell

def test_parts_are_the_components_of_the_issue():
    assert D.PART_KEYS == ("inputs", "forget", "forget_mul", "input", "candidate", "input_mul",
                           "add", "cell", "tanh", "output", "output_mul", "h")
    # the forget, input and output gates, the candidate, the cell-state line, the + node, the
    # three x nodes, the tanh and h: each one part
    assert {"forget", "input", "output", "candidate", "cell", "add", "forget_mul", "input_mul",
            "output_mul", "tanh", "h"} <= set(D.PART_KEYS)


def test_every_part_is_a_focusable_button(cell):
    svg, _, _ = parse(cell)
    assert svg.get("role") == "group" and svg.get("aria-label") == "One LSTM cell; each part is a button."
    buttons = [e for e in svg.iter() if e.get("role") == "button"]
    assert [b.get("data-part") for b in buttons] == list(D.PART_KEYS)      # the tab order
    children = list(svg)
    for b, p in zip(buttons, D.PARTS):
        assert b.get("tabindex") == "0", p.key
        assert b.get("aria-label") == p.name and p.name.strip()
        assert b.get("aria-pressed") == "false"
        assert [e.get("class") for e in b if e.get("class") in ("hit", "ring")] == ["hit", "ring"]
        # the part's texts follow its button, aria-hidden (its name is its label, WCAG 2.5.3)
        drawn = {e.get("data-k") for e in b.iter() if e.get("data-k")}
        nxt = children[children.index(b) + 1] if children.index(b) + 1 < len(children) else None
        if nxt is not None and nxt.get("aria-hidden") == "true":
            drawn |= {e.get("data-k") for e in nxt.iter() if e.get("data-k")}
        words = [e.get("data-k") for e in b.iter() if e.tag.endswith("text")
                 and not e.get("data-k", "").endswith(":symbol")]     # a node's × or + may stay
        assert words == [], p.key
        assert set(p.items) <= drawn, (p.key, set(p.items) - drawn)


def test_every_path_names_drawn_items(cell):
    svg, _, data = parse(cell)
    drawn = {e.get("data-k") for e in svg.iter() if e.get("data-k")}
    assert data["start"] == "cell"
    assert set(data["paths"]) == set(D.PART_KEYS)
    for key, path in data["paths"].items():
        assert path and set(path) <= drawn, (key, set(path) - drawn)
        assert set(path) == D.get_part(key).path
    # the drawing starts with the start part's path lit, and nothing else
    lit = {e.get("data-k") for e in svg.iter() if "on" in (e.get("class") or "").split()}
    assert lit == set(data["paths"]["cell"])


def expected_values(ex, step):
    v = {"x_t": ex["x_t"], "h_prev": ex["h_prev"], "c_prev": ex["c_prev"], **step}
    v["kept"] = step["f"] * ex["c_prev"]
    v["written"] = step["i"] * step["c_tilde"]
    v["tanh_c"] = np.tanh(step["c"])
    return v


def test_every_part_shows_its_equation_shapes_and_numbers(cell, worked):
    _, entries, _ = parse(cell)
    values = expected_values(*worked)
    assert list(entries) == list(D.PART_KEYS)
    for p in D.PARTS:
        e = entries[p.key]
        assert text_of(e.find(".//strong")) == p.name
        eqs = e.findall(".//p[@class='lstmc-eq']")
        assert len(eqs) == len(p.tex) >= 1
        for el, tex, markup in zip(eqs, p.tex, p.eq):
            tex_span, txt_span = el.findall("span")
            assert text_of(tex_span) == f"\\({tex}\\)"                    # for MathJax
            assert tex_span.get("style") == "display:none"               # hidden until typeset
            assert text_of(txt_span) == S.plain(markup)                  # the fallback
            assert "<sub>" in ET.tostring(txt_span, encoding="unicode")
        rows = e.findall(".//tbody/tr")
        assert len(rows) == len(p.rows)
        for tr, (sym, dims, key) in zip(rows, p.rows):
            th, shape, num = tr
            assert text_of(th) == S.plain(sym)
            sizes = {"B": 1, "n": 2, "d": 2}
            assert text_of(shape) == f"{'×'.join(dims)} = {'×'.join(str(sizes[d]) for d in dims)}"
            assert num.get("data-v") == key
            assert text_of(num) == D.format_rows(values[key])
        if p.weights:
            w = text_of(e.find(".//p[@class='lstmc-w']"))
            for sym, dims in p.weights:
                assert S.plain(sym) in w
    # the gates' numbers are the worked example's: spot-check two against the chapter's prose digits
    assert text_of(entries["forget"].find(".//td[@data-v='f']")) == "(0.913, 0.063)"
    assert text_of(entries["output_mul"].find(".//td[@data-v='h']")) == "(0.553, −0.236)"


def test_numbers_shown_match_the_reference_forward_pass_and_torch(cell, worked):
    """The numbers come from lstm_step; hold them against lstm_forward and nn.LSTM."""
    ex, step = worked
    p = ex["params"]
    trace = reference.lstm_forward(p, ex["x_t"][None], ex["h_prev"], ex["c_prev"])
    from_forward = {"f": trace.f[0], "i": trace.i[0], "c_tilde": trace.c_tilde[0], "o": trace.o[0],
                    "c": trace.c[0], "h": trace.h[0]}
    lstm = torch.nn.LSTM(2, 2, dtype=torch.float64)
    w_ih, w_hh, b = weights.fuse_lstm_weights(p)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(w_ih))
        lstm.weight_hh_l0.copy_(torch.from_numpy(w_hh))
        lstm.bias_ih_l0.copy_(torch.from_numpy(b))
        lstm.bias_hh_l0.zero_()
        out, (h_t, c_t) = lstm(torch.from_numpy(ex["x_t"][None]),
                               (torch.from_numpy(ex["h_prev"][None]), torch.from_numpy(ex["c_prev"][None])))
    from_torch = {"h": h_t[0].numpy(), "c": c_t[0].numpy()}
    _, entries, _ = parse(cell)
    shown = {}
    for e in entries.values():
        for td in e.iter("td"):
            if td.get("data-v"):
                shown.setdefault(td.get("data-v"), set()).add(text_of(td))
    assert all(len(texts) == 1 for texts in shown.values())          # one number, one text
    for key, want in from_forward.items():
        np.testing.assert_allclose(cell.values[key], want, rtol=0, atol=1e-14)
        assert shown[key] == {D.format_rows(want)}, key
    for key, want in from_torch.items():
        np.testing.assert_allclose(cell.values[key], want, rtol=0, atol=1e-12)
        assert shown[key] == {D.format_rows(want)}, key
    assert set(shown) == set(D.VALUE_KEYS) | set(D.DERIVED)


def test_worked_values_refuse_numbers_that_do_not_belong_together(worked):
    ex, step = worked
    args = dict(x_t=ex["x_t"], h_prev=ex["h_prev"], c_prev=ex["c_prev"])
    with pytest.raises(ValueError, match="missing"):
        D.worked_values({k: v for k, v in step.items() if k != "o"}, **args)
    bad = dict(step, c=step["c"] + 0.01)
    with pytest.raises(ValueError, match="not the cell's update"):
        D.worked_values(bad, **args)
    with pytest.raises(ValueError, match="2-D"):
        D.worked_values(step, **dict(args, x_t=ex["x_t"][0]))
    with pytest.raises(ValueError, match=r"shape \(B, n\)"):
        D.worked_values(dict(step, f=step["f"][:, :1]), **args)
    with pytest.raises(ValueError, match="rows"):
        D.worked_values(step, **dict(args, x_t=np.zeros((2, 2))))
    with pytest.raises(ValueError, match="finite"):
        D.worked_values(step, **dict(args, x_t=np.array([[np.nan, 0.0]])))
    with pytest.raises(ValueError, match="printed in full"):
        big = {k: np.zeros((1, 7)) for k in ("f", "i", "c_tilde", "o", "c", "h")}
        D.worked_values(big, x_t=np.zeros((1, 2)), h_prev=np.zeros((1, 7)), c_prev=np.zeros((1, 7)))
    with pytest.raises(ValueError, match="alt"):
        D.clickable(step, **args, alt=" ")
    with pytest.raises(ValueError, match="part"):
        D.clickable(step, **args, alt="x", start="gates")


def test_numbers_print_the_same_on_any_cpu():
    assert D.format_rows(np.array([[0.5, -0.25]])) == "(0.500, −0.250)"
    assert D.format_rows(np.array([[1.0], [-2.0]]), digits=1) == "(1.0); (−2.0)"
    with pytest.raises(ValueError, match="another CPU"):
        D.format_rows(np.array([[0.0125]]))          # sits on a rounding boundary


def test_clickable_html_is_self_contained_and_stable(cell, worked):
    ex, step = worked
    h = cell.html()
    assert h == cell.html() and cell.uid.startswith("lstmc-") and f'id="{cell.uid}"' in h
    assert not re.search(r"\b(src|href)=", h)
    assert re.findall(r"https?://[^\"' ]+", h) == ["http://www.w3.org/2000/svg"]
    assert "<style>" in h and "html[data-theme=dark]" in h and "focus-visible" in h
    assert h.count("<script") == 2 and "document.currentScript" in h
    assert "<details class=\"lstmc-list\" open>" in h                # open where no script runs
    assert "A caption &amp; more." in h
    other = D.clickable(step, x_t=ex["x_t"], h_prev=ex["h_prev"], c_prev=ex["c_prev"], alt="Other")
    assert other.uid != cell.uid
    # another CPU's last digits change neither the numbers shown nor the id
    nudged = {k: v * (1 + 1e-15) for k, v in step.items()}
    again = D.clickable(nudged, x_t=ex["x_t"], h_prev=ex["h_prev"], c_prev=ex["c_prev"],
                        alt=cell.alt, caption=cell.caption)
    assert again.html() == h
    bundle = cell._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"} and "12 parts" in bundle["text/plain"]
    report = D.bytes_report(cell)
    assert report["html"] < 40_000 and report["svg"] < report["html"]


def test_hit_areas_and_focus_rings_stay_in_the_drawing():
    for p in D.PARTS:
        shape, *g = p.hit
        if shape == "rect":
            x, y, w, h = g
            box = (x - 2, y - 2, x + w + 2, y + h + 2)                 # the ring is 2 units out
        else:
            cx, cy, r = g
            box = (cx - r - 2, cy - r - 2, cx + r + 2, cy + r + 2)
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= D.WIDTH and box[3] <= D.HEIGHT, p.key


def test_svg_text_is_legible_on_a_phone(cell):
    svg, _, _ = parse(cell)
    sizes = [float(e.get("font-size")) for e in svg.iter() if e.get("font-size")]
    assert len(sizes) > 20 and min(sizes) >= D.MIN_FONT
    assert D.MIN_FONT * PHONE_WIDTH / D.WIDTH >= 11.0
    assert svg.get("viewBox") == f"0 0 {D.WIDTH:g} {D.HEIGHT:g}"
    assert "max-width:600px" in svg.get("style")


# ------------------------------------------------------------------ still figures

WHATS = list(D.STEP_KEYS) + list(D.HIGHLIGHTS) + list(D.PART_KEYS)


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


def test_the_bare_cell_is_legible_too():
    # a highlight changes colours and widths, never text, so one bare drawing stands for them
    fig = D.figure("none", alt="x").figure()
    assert D.text_overlaps(fig) == [] and D.texts_outside(fig) == []
    assert len(D.text_boxes(fig)) == len(D.LABELS) + len(D.GATE_TEXT) + 1 + len(D.NODES)


def test_overlap_check_can_fail():
    fig = D.draw_cell("forget")
    ax = fig.axes[0]
    _, x, y, *_ = D.LABELS["f"]
    ax.text(x, y, "a label on top of f_t", fontsize=12)
    assert D.text_overlaps(fig) != []


@pytest.mark.parametrize("key", D.STEP_KEYS)
def test_highlight_is_thicker_and_coloured(figures, key):
    step = D.get_step(key)
    parts = gid_artists(figures[key])
    assert step.highlight <= set(parts), step.highlight - set(parts)
    hi = {to_hex(PALETTE[1])}
    scale = 1.0                         # draw_cell's default: widths in points are the constants
    for gid, artists in parts.items():
        if gid.startswith("key:"):      # the legend: one thick sample, one thin
            (a,) = artists
            assert a.get_linewidth() == scale * (D.HIGHLIGHT_WIDTH if gid == "key:on" else D.DIM_WIDTH)
            continue
        lit = gid in step.highlight
        for a in artists:
            if isinstance(a, Line2D):
                assert a.get_linewidth() == scale * (D.HIGHLIGHT_WIDTH if lit else D.DIM_WIDTH), gid
                assert D.HIGHLIGHT_WIDTH >= 3 * D.DIM_WIDTH
                colour = to_hex(a.get_color())
            elif isinstance(a, Polygon):                      # an arrowhead
                colour = to_hex(a.get_facecolor())
            elif gid.startswith(("box:", "node:")):
                assert a.get_linewidth() == scale * (S.BOX_WIDTH_ON if lit else D.DIM_WIDTH), gid
                colour = to_hex(a.get_edgecolor())
            elif gid.startswith("dot:"):
                colour = to_hex(a.get_facecolor())
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


def test_named_highlights():
    assert D.highlight_of("carry") == {"line:c_in", "node:forget_mul", "line:c_mid", "node:add",
                                       "line:c_out", "label:c_prev", "label:c_next"}
    assert {f"box:{g}" for g in "fico"} <= D.highlight_of("gates")
    assert D.highlight_of("none") == frozenset()
    assert D.highlight_of("tanh") == D.get_part("tanh").path
    assert D.highlight_of({"box:f"}) == {"box:f"}
    with pytest.raises(ValueError, match="a named path"):
        D.highlight_of("gate")
    with pytest.raises(ValueError, match="unknown keys"):
        D.highlight_of({"box:z"})


@pytest.mark.parametrize("what", WHATS)
def test_figure_svg_has_alt_sizes_and_highlight(what):
    f = D.figure(what, alt="The cell, with a path drawn thick.")
    svg = ET.fromstring(f.svg())
    assert svg.find("s:title", NS).text == "The cell, with a path drawn thick."
    sizes = [float(e.get("font-size")) for e in svg.iter() if e.get("font-size")]
    assert min(sizes) >= D.MIN_FONT
    lit = {e.get("data-k") for e in svg.iter() if "on" in (e.get("class") or "").split()}
    assert lit - {"key:on"} == D.highlight_of(what)
    has_equations = any((e.get("data-k") or "").startswith("eq:") for e in svg.iter())
    assert has_equations == (what in D.STEP_KEYS)
    assert f.width == D.WIDTH * D.FULL_SCALE


@pytest.mark.parametrize("what", ["carry", "gates"])
def test_figure_is_one_output_with_svg_png_and_alt(what):
    f = D.figure(what, alt="The cell, with a path drawn thick.", size="small")
    data, meta = f._repr_mimebundle_()
    assert set(data) == {"image/svg+xml", "image/png", "text/plain"}
    assert data["image/svg+xml"] == f.svg() and data["text/plain"] == f.alt
    img = mpimg.imread(io.BytesIO(base64.b64decode(data["image/png"])))
    assert img.shape[1] == 2 * D.WIDTH * D.SMALL_SCALE
    assert meta["image/png"] == {"width": round(f.width), "height": round(f.height)}


def test_figure_sizes_and_errors():
    small = D.figure("carry", alt="preview", size="small")
    assert small.width == D.WIDTH * D.SMALL_SCALE
    assert D.MIN_FONT * D.SMALL_SCALE >= 11      # a preview at its natural size
    with pytest.raises(ValueError, match="size"):
        D.figure("carry", alt="x", size="huge")
    with pytest.raises(ValueError, match="alt"):
        D.figure("carry", alt="")
    with pytest.raises(ValueError, match="expected one of"):
        D.figure("carry", alt="x", equations=True)      # equations belong to the five views


@pytest.mark.parametrize("key", ["overview", "output"])
def test_png_is_opaque_white(key):
    img = mpimg.imread(io.BytesIO(D.cell_png(key)))
    assert img.shape[2] in (3, 4)
    assert img.shape[1] == 2 * D.WIDTH * D.FULL_SCALE       # a 2x raster of 600 px
    if img.shape[2] == 4:
        assert np.all(img[:, :, 3] == 1.0)
    assert np.allclose(img[0, 0, :3], 1.0) and np.allclose(img[-1, -1, :3], 1.0)


def test_figure_png_is_the_stepper_png():
    data, _ = D.figure("update", alt="x")._repr_mimebundle_()
    assert base64.b64decode(data["image/png"]) == D.cell_png("update")


# -------------------------------------------------------------------- the stepper

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
    assert img.width == D.WIDTH * D.FULL_SCALE
