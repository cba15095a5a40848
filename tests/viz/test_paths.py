"""Tests for lstm_lib.viz.paths (Chapter 5): the three kinds of path through the unrolled
cell. Each panel highlights one connected path from c_{T−2} to L of its kind (carry only:
carry edges then the read-out; hidden only: no carry edge; mixed: both), the drawing is
legible (no overlaps, nothing clipped, no text below MIN_FONT at phone width), and the
figure carries its alt text."""
import xml.etree.ElementTree as ET

import pytest
from matplotlib.colors import to_hex

from lstm_lib.viz import diagram as D
from lstm_lib.viz import paths as P
from lstm_lib.viz import scene as S


def lit_edges(sc, kind):
    pre = f"{kind}:"
    return {tuple(k[len(pre):].split("-")) for k in sc.highlight
            if k.startswith(pre) and ":node:" not in k}


@pytest.mark.parametrize("kind", [k for k, _, _ in P.KINDS])
def test_each_panel_highlights_one_connected_path_from_c_to_the_loss(kind):
    sc = P.paths_scene()
    edges = lit_edges(sc, kind)
    assert edges == set(zip(P.EXAMPLES[kind], P.EXAMPLES[kind][1:]))
    node, seen = "c2", ["c2"]
    while node != "L":                                  # follow the lit edges: one chain
        nxt = [b for a, b in edges if a == node]
        assert len(nxt) == 1, f"{kind}: the path branches or stops at {node}"
        node = nxt[0]
        seen.append(node)
    assert len(seen) == len(edges) + 1
    kinds = [P.edge_kind(a, b) for a, b in edges]
    if kind == "carry":
        assert set(kinds) == {"carry", "read", "loss"} and kinds.count("read") == 1
        assert ("c0", "h0") in edges                     # the read-out only at the end
    elif kind == "hidden":
        assert "carry" not in kinds
    else:
        assert "carry" in kinds and {"gate", "hh"} & set(kinds)


def test_edge_kinds_and_errors():
    assert P.edge_kind("c2", "c1") == "carry" and P.edge_kind("h1", "c0") == "gate"
    assert P.edge_kind("h2", "h1") == "hh" and P.edge_kind("c1", "h1") == "read"
    assert P.edge_kind("h0", "L") == "loss"
    with pytest.raises(ValueError, match="h_T"):
        P.edge_kind("c0", "L")
    with pytest.raises(ValueError, match="no such edge"):
        P.edge_kind("c0", "c2")


def test_highlighted_paths_are_thick_and_coloured_the_rest_thin():
    sc = P.paths_scene()
    fig = S.to_figure(sc)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].lines}
    paths = [it.key for it in sc.items if isinstance(it, S.Path)]
    assert len(paths) == 3 * 10                 # 3 read-outs, 2 x (carry, gate, hh), h_T -> L
    for k in paths:
        if k in sc.highlight:
            assert lines[k].get_linewidth() == S.HIGHLIGHT_WIDTH
            assert to_hex(lines[k].get_color()) == to_hex(S.HIGHLIGHT_COLOR)
        else:
            assert lines[k].get_linewidth() == S.DIM_WIDTH


def test_legible_no_overlaps_nothing_clipped():
    fig = S.to_figure(P.paths_scene(), scale=P.FULL_SCALE)
    assert D.text_overlaps(fig) == [] and D.texts_outside(fig) == []
    assert P.MIN_FONT * 336 / P.WIDTH >= 11                # a 390 px phone shows it 336 px wide
    titles = {S.plain(t.markup) for t in P.paths_scene().texts() if t.key.startswith("title:")}
    assert titles == {"carry only", "hidden only", "mixed"}


def test_figure_output_and_errors():
    f = P.paths_figure(alt="Three copies of three unrolled steps, one path lit in each.")
    data, _ = f._repr_mimebundle_()
    assert set(data) == {"image/svg+xml", "image/png", "text/plain"}
    svg = ET.fromstring(data["image/svg+xml"])
    sizes = [float(e.get("font-size")) for e in svg.iter() if e.get("font-size")]
    assert min(sizes) >= P.MIN_FONT
    assert f.width == P.WIDTH * P.FULL_SCALE and P.paths_figure(alt="x", size="small").width == P.WIDTH
    with pytest.raises(ValueError, match="size"):
        P.paths_figure(alt="x", size="tiny")
    with pytest.raises(ValueError, match="alt"):
        P.paths_figure(alt=" ")
