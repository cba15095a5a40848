"""lstm_lib.viz.text: text coloured by a value per character, legible and the same on any CPU."""
import re

import numpy as np
import pytest

from lstm_lib.viz import text as T


def test_every_background_keeps_the_text_legible():
    """WCAG AAA (7:1) for the text on every bin's colour, and the scale runs blue, grey, orange."""
    assert len(T.COLOURS) % 2 == 1
    for colour in T.COLOURS:
        assert T.contrast_ratio(colour, T.TEXT_COLOUR) >= 7, colour
    assert T.contrast_ratio("#ffffff", "#000000") == pytest.approx(21)
    mid = len(T.COLOURS) // 2
    rgb = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in T.COLOURS]
    assert all(b > r for r, g, b in rgb[:mid]) and all(r > b for r, g, b in rgb[mid + 1:])
    assert len(set(rgb[mid])) == 1                               # the middle is a grey


def test_bins_and_their_margin():
    k = len(T.COLOURS)
    assert list(T.bins([-5, -1, -0.999, 0.0, 0.999, 1, 5])) == [0, 0, 0, k // 2, k - 1, k - 1, k - 1]
    edge = -1 + 2 / k
    assert T.bins([edge - 1e-9, edge + 1e-9]).tolist() == [0, 1]
    assert T.bin_margin([edge + 1e-6]) == pytest.approx(1e-6, rel=1e-3)
    # -1 and +1 are no edges: a value near them (or beyond, clipped) stays in the end bin
    assert T.bin_margin([-1.0, 1.0 - 1e-12, 3.0]) == pytest.approx(2 / k)
    assert T.bin_margin([]) == float("inf")


def test_html_merges_runs_escapes_and_states_its_colours():
    shown = T.coloured_text("a<b\n&c", [-1, -1, 0, 0, 1, 1], title="Cell 3.", caption="Orange: inside.",
                            legend=("off", "on"))
    html = shown._repr_html_()
    spans = re.findall(r'<span style="background-color:(#[0-9a-f]{6})">([^<]*)</span>', html)
    body = [s for s in spans if s[1] != "&#8203;"]
    assert body == [(T.COLOURS[0], "a&lt;"), (T.COLOURS[len(T.COLOURS) // 2], "b\n"),
                    (T.COLOURS[-1], "&amp;c")]
    assert "<script" not in html and "<style" not in html and "class=" not in html
    assert "Cell 3." in html and "Orange: inside." in html and ">off " in html and " on</span>" in html
    assert f"color:{T.TEXT_COLOUR}" in html and "background-color:#ffffff" in html
    # the caption sets its own colour too: a theme's dark-mode caption colour is unreadable on white
    assert f'<figcaption style="font-size:14px;margin-bottom:0.4em;color:{T.TEXT_COLOUR}">' in html
    assert repr(shown) == "Cell 3. Orange: inside.\na<b\n&c"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"one per character, shape \(3,\)"):
        T.coloured_text("abc", [0, 1])
    with pytest.raises(ValueError, match="finite"):
        T.coloured_text("ab", [0, np.nan])
    with pytest.raises(TypeError, match="expected a str"):
        T.coloured_text(b"ab", [0, 1])
