"""Tests for lstm_lib.viz.scene: the text markup, the scene's checks, and the two writers
(SVG and matplotlib) drawing the same items with the same keys, sizes and highlight."""
import base64
import io
import re
import xml.etree.ElementTree as ET

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D

from lstm_lib.viz import scene as S
from lstm_lib.viz.scene import Box, Dot, Frame, Group, Node, Path, Scene, Text

NS = {"s": "http://www.w3.org/2000/svg"}


def small_scene(highlight=("p",)):
    items = (Frame("frame", 5, 5, 190, 90),
             Path("p", ((10, 50), (100, 50)), arrow=True),
             Path("q", ((100, 50), (100, 90)), dashed=True),
             Box("b", 140, 50, 40, 24), Node("n", 60, 20, 10, "×"), Dot("d", 100, 50),
             Text("t", 140, 56, "c\u0303_{t−1}", 16, font="var"),
             Text("w", 20, 90, "h_{t} ⊙ x^{2}", 14, "start", "eq"))
    return Scene(200, 100, items, frozenset(highlight), 12.0, {"g": ("b", "t")})


def test_markup_runs_and_plain_text():
    assert S.runs("c_{t−1} + x^{2}") == [("c", 0), ("t−1", -1), (" + x", 0), ("2", 1)]
    assert S.runs("tanh") == [("tanh", 0)]
    assert S.plain("W_{xf} x_{t}") == "Wxf xt"
    for bad in ("c_{t", "c_{a_{b}}", "x}"):
        with pytest.raises(ValueError, match="braces"):
            S.runs(bad)
    with pytest.raises(TypeError, match="expected a str"):
        S.runs(3)


def test_mathtext_for_matplotlib():
    assert S.mathtext(Text("a", 0, 0, "tanh", 14)) == "tanh"
    assert S.mathtext(Text("a", 0, 0, "c\u0303_{t−1}", 14, font="var")) == r"$\tilde{c}_{t-1}$"
    assert S.mathtext(Text("a", 0, 0, "f_{t} = σ(z)", 14, font="eq")) == \
        r"$\mathregular{f_{t}\ =\ \sigma (z)}$"
    assert S.mathtext(Text("a", 0, 0, "costs $5", 14)) == r"costs \$5"


def test_scene_checks_its_items():
    with pytest.raises(ValueError, match="unique"):
        Scene(10, 10, (Dot("a", 1, 1), Dot("a", 2, 2)))
    with pytest.raises(ValueError, match="no item has"):
        Scene(10, 10, (Dot("a", 1, 1),), frozenset({"b"}))
    with pytest.raises(ValueError, match="below the scene's min_font"):
        Scene(10, 10, (Text("t", 1, 1, "x", 9),), min_font=11)
    with pytest.raises(ValueError, match="group 'g'"):
        Scene(10, 10, (Dot("a", 1, 1),), groups={"g": ("z",)})
    with pytest.raises(TypeError, match="expected items"):
        Scene(10, 10, ("not an item",))
    with pytest.raises(ValueError, match="anchor"):
        Text("t", 0, 0, "x", 12, anchor="left")
    with pytest.raises(ValueError, match="font"):
        Text("t", 0, 0, "x", 12, font="mono")
    sc = small_scene()
    assert sc.item("b").w == 40 and len(sc.texts()) == 2
    with pytest.raises(KeyError):
        sc.item("zz")
    assert sc.with_highlight({"q"}).highlight == {"q"}


def svg_tree(svg: str):
    return ET.fromstring(svg)


def test_svg_is_valid_xml_with_keys_classes_and_highlight():
    sc = small_scene()
    svg = S.to_svg(sc, title="A small test drawing", scale=2)
    root = svg_tree(svg)
    assert root.get("viewBox") == "0 0 200 100" and root.get("width") == "400"
    assert root.get("role") == "img" and root.get("aria-label") == "A small test drawing"
    assert root.find("s:title", NS).text == "A small test drawing"
    keyed = {e.get("data-k"): e for e in root.iter() if e.get("data-k")}
    assert {"frame", "p", "q", "b", "n", "d", "t", "w"} <= set(keyed)
    p, q = keyed["p"], keyed["q"]
    assert "on" in p.get("class").split() and "on" not in q.get("class").split()
    assert p.find("s:polyline", NS).get("stroke-width") == "4"
    assert q.find("s:polyline", NS).get("stroke-width") == "1.3"
    assert q.find("s:polyline", NS).get("stroke-dasharray")          # dashed differs by style
    assert p.find("s:polygon", NS) is not None                        # the arrowhead
    assert to_hex(p.find("s:polyline", NS).get("stroke")) == to_hex(S.HIGHLIGHT_COLOR)
    # text is real text, with subscripts as tspans no smaller than min_font
    t = keyed["t"]
    assert "".join(t.itertext()) == "c\u0303t−1"
    sizes = [float(e.get("font-size")) for e in t.iter() if e.get("font-size")]
    assert min(sizes) >= sc.min_font
    with pytest.raises(ValueError, match="title"):
        S.to_svg(sc)


def test_svg_groups_are_buttons_with_hit_area_and_ring():
    sc = small_scene()
    svg = S.to_svg(sc, title="t", groups=[Group("g", "The box", ("rect", 115, 35, 50, 30))],
                   role="group", responsive=True, background=None)
    root = svg_tree(svg)
    assert root.get("width") == "100%" and "max-width:200px" in root.get("style")
    (g,) = [e for e in root.iter() if e.get("role") == "button"]
    assert g.get("tabindex") == "0" and g.get("aria-label") == "The box" and g.get("data-part") == "g"
    assert {e.get("data-k") for e in g.iter() if e.get("data-k")} == {"b"}
    assert [e.get("class") for e in g if e.get("class") in ("hit", "ring")] == ["hit", "ring"]
    # the group's text follows the button, outside it, hidden from assistive technology and
    # letting clicks through: a button's name must contain any text shown inside it (WCAG 2.5.3)
    assert not [e for e in g.iter() if e.tag.endswith("text")]
    children = list(root)
    after = children[children.index(g) + 1]
    assert after.get("aria-hidden") == "true" and after.get("pointer-events") == "none"
    assert [e.get("data-k") for e in after] == ["t"]
    with pytest.raises(ValueError, match="not one of the scene's groups"):
        S.to_svg(sc, title="t", groups=[Group("nope", "x", ("rect", 0, 0, 1, 1))])
    with pytest.raises(ValueError, match="hit must be"):
        S.to_svg(sc, title="t", groups=[Group("g", "x", ("oval", 0, 0, 1))])


def test_matplotlib_draws_the_same_items():
    sc = small_scene()
    fig = S.to_figure(sc, scale=1.5)
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.lines}
    assert lines["p"].get_linewidth() == S.HIGHLIGHT_WIDTH * 1.5
    assert lines["q"].get_linewidth() == S.DIM_WIDTH * 1.5
    assert to_hex(lines["p"].get_color()) == to_hex(S.HIGHLIGHT_COLOR)
    assert isinstance(lines["p"], Line2D)
    gids = {a.get_gid() for a in ax.patches} | {t.get_gid() for t in ax.texts}
    assert {"frame", "b", "n", "d", "t", "w", "n:symbol"} <= gids
    assert fig.get_size_inches()[0] == pytest.approx(200 * 1.5 / 72)


def test_figure_bundle_svg_png_and_alt():
    fig = S.SceneFigure(small_scene(), "  What the drawing shows.  ", scale=1.0)
    data, meta = fig._repr_mimebundle_()
    assert set(data) == {"image/svg+xml", "image/png", "text/plain"}
    assert data["text/plain"] == "What the drawing shows." == repr(fig)
    assert "<title>What the drawing shows.</title>" in data["image/svg+xml"]
    png = base64.b64decode(data["image/png"])
    img = mpimg.imread(io.BytesIO(png))
    assert img.shape[1] == 400                       # a 2x raster of 200 units
    assert meta["image/png"] == {"width": 200, "height": 100}
    if img.shape[2] == 4:
        assert np.all(img[:, :, 3] == 1.0)
    assert np.allclose(img[0, 0, :3], 1.0)
    for bad in ("", "   ", None):
        with pytest.raises(ValueError, match="alt"):
            S.SceneFigure(small_scene(), bad)
    with pytest.raises(ValueError, match="scale"):
        S.SceneFigure(small_scene(), "x", scale=10)


def test_svg_output_is_deterministic_and_offline():
    a = S.to_svg(small_scene(), title="t")
    assert a == S.to_svg(small_scene(), title="t")
    assert not re.search(r"(href|src)=", a)
    assert re.findall(r"https?://[^\"]+", a) == ["http://www.w3.org/2000/svg"]


def test_text_estimates_and_wrap():
    t = Text("t", 100, 50, "c_{t−1}", 20, "middle")
    x0, y0, x1, y1 = S.text_box(t, 12)
    assert x0 < 100 < x1 and y0 < 50 < y1
    assert S.text_width(t, 12) > S.text_width(Text("u", 0, 0, "c", 20), 12)
    lines = S.wrap("one two three four five six seven eight nine ten eleven", 14, 120)
    assert len(lines) > 1 and all(len(line) <= int(120 / (S.CHAR_EM * 14)) for line in lines)
    assert " ".join(lines) == "one two three four five six seven eight nine ten eleven"
    head = S.arrowhead([(0, 0), (10, 0)], 4)
    assert head[0] == (10, 0) and head[1][0] == pytest.approx(6)
