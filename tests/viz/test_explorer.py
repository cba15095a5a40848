"""The explorer framework: one pure function, a live view and a kernel-free view."""
import json
import re

import numpy as np
import pytest

from lstm_lib.viz.explorer import Control, Explorer, Panel, Series, View, sliders, static_file


def decay(f, k_max=30):
    k = np.arange(k_max + 1)
    return View([Panel([Series(k, f ** k, "f^k", marker="o")], logy=True, ylim=(1e-6, 1.5),
                       xlabel="gap k", ylabel="scale")],
                text=f"f = {f:.2f}: after {k_max} steps the scale is {f ** k_max:.3g}")


def two(a, b):
    x = np.arange(5.0)
    return View([Panel([Series(x, a * x + b, "line")]),
                 Panel([Series(x, np.full(5, a), "bars", kind="bar")], ylim=(0, 1))],
                text=f"a={a:.2f} b={b:.2f}")


F = Control("f", "forget gate f", np.linspace(0.5, 1.0, 21), initial=0.9)


def test_view_is_the_pure_function():
    ex = Explorer(decay, [F])
    v = ex.view(f=0.75)
    assert v.text == decay(0.75).text
    np.testing.assert_array_equal(v.panels[0].series[0].y, 0.75 ** np.arange(31))
    assert ex.view().text.startswith("f = 0.90")  # the initial value


def test_frames_cover_the_grid_in_row_major_order():
    A = Control("a", "a", np.linspace(0, 1, 20))
    Bc = Control("b", "b", np.linspace(-1, 1, 21))
    ex = Explorer(two, [A, Bc])
    frames = ex.frames()
    assert len(frames) == 20 * 21
    # frame index = ia * 21 + ib, as the client-side code computes it
    assert frames[3 * 21 + 7]["text"] == two(A.values[3], Bc.values[7]).text


def test_static_html_embeds_every_frame_and_labelled_controls():
    ex = Explorer(decay, [F], title="Memory decay")
    page = ex.static_html()
    data = json.loads(re.search(r'<script type="application/json" class="lstmx-data">(.*?)</script>',
                                page, re.S).group(1))
    assert len(data["frames"]) == 21
    assert data["controls"][0]["initial"] == F.index_of(0.9)
    for k, f in enumerate(F.values):
        ys = ex.unpack(data, k)["panels"][0]["series"][0]["y"]
        np.testing.assert_allclose(ys, f ** np.arange(31), rtol=5e-3)   # three significant digits
    # a labelled range input: <label for=id> matches the input's id
    ids = re.findall(r'<input type="range" id="([^"]+)"', page)
    assert ids and all(f'<label for="{i}">' in page for i in ids)
    assert 'aria-label="f = 0.90' in page and 'aria-live="polite"' in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # only the SVG namespace
    assert "https://" not in page
    assert ex.static_html() == page  # deterministic, so nbval can compare it


def test_packed_frames_store_each_array_once_and_unpack_to_the_frames():
    A = Control("a", "a", np.linspace(0, 1, 20))
    Bc = Control("b", "b", np.linspace(-1, 1, 21))
    ex = Explorer(two, [A, Bc])
    data = ex.packed()
    frames = ex.frames()
    assert [ex.unpack(data, k) for k in range(len(frames))] == frames     # nothing lost
    assert data["arrays"].count([0, 1, 2, 3, 4]) == 1                     # x of every frame, once
    assert len(data["parts"]) == 2 + 2 + 1                    # two panels, two series, one title ("")
    arrays = [json.dumps(a) for a in data["arrays"]]
    assert len(arrays) == len(set(arrays))
    # the shared x arrays of the old format were a large part of the page: now a few bytes
    old = len(json.dumps(frames, separators=(",", ":")))
    assert len(json.dumps(data, separators=(",", ":"))) < 0.5 * old


def test_labels_carry_sub_and_superscripts():
    from lstm_lib.viz.explorer import label_html, label_mathtext, label_parts

    assert label_parts("σ_max^k of W_hh") == [("σ", ""), ("max", "sub"), ("k", "sup"),
                                              (" of W", ""), ("hh", "sub")]
    assert label_parts("∂c_(T−k)") == [("∂c", ""), ("T−k", "sub")]
    assert label_parts("no scripts: max|w|/(1-f)") == [("no scripts: max|w|/(1-f)", "")]
    assert label_html("c_t < 1") == "c<sub>t</sub> &lt; 1"
    assert label_mathtext("memory c_t") == r"memory $\mathregular{c}_{\mathregular{t}}$"
    import matplotlib
    matplotlib.use("agg")
    from matplotlib.figure import Figure
    fig = Figure()
    ax = fig.subplots()
    for text in ("σ_max^k of W_hh", "σ(b_f)^k", "‖∂h_T/∂h_(T−k)‖₂", "50% of f_t"):
        ax.set_title(label_mathtext(text))
        fig.canvas.draw()                                     # mathtext parses it
    page = Explorer(decay, [Control("f", "forget gate f_t", F.values, initial=0.9)]).static_html()
    assert '<label for="lstmx-' in page and "forget gate f<sub>t</sub></label>" in page


def test_live_widget_redraws_without_side_output(capsys):
    ex = Explorer(decay, [F])
    box = ex.widget()
    first = box.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    box.sliders[0].value = F.values[2]
    assert box.image.value != first
    assert "f = 0.55" in box.readout.value
    assert capsys.readouterr().out == ""


def test_show_bundles_live_and_static(monkeypatch):
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    Explorer(decay, [F], title="t").show()
    bundle = shown[0]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].startswith('<div class="lstmx"')


def test_view_to_figure_draws_the_same_series():
    fig = two(0.5, 0.25).to_figure()
    ax0, ax1 = fig.axes
    np.testing.assert_allclose(ax0.lines[0].get_ydata(), 0.5 * np.arange(5) + 0.25)
    assert len(ax1.patches) == 5


@pytest.mark.parametrize("bad, match", [
    (dict(values=np.linspace(0, 1, 5)), "at least 20 values, got 5"),
    (dict(values=[np.nan] + list(range(20))), "finite"),
    (dict(values=np.linspace(0, 1, 21), initial=0.333), "not one of its values"),
])
def test_control_rejects_bad_grids(bad, match):
    with pytest.raises(ValueError, match=match):
        Control("x", "x", **bad)


def test_explorer_rejects_bad_use():
    with pytest.raises(ValueError, match="at least one Control"):
        Explorer(decay, [])
    big = [Control(n, n, np.linspace(0, 1, 50)) for n in "abc"]
    with pytest.raises(ValueError, match="at most 2000, got 125000"):
        Explorer(lambda a, b, c: None, big)
    ex = Explorer(decay, [F])
    with pytest.raises(ValueError, match="unknown control"):
        ex.view(g=0.5)
    with pytest.raises(ValueError, match="not on the control's grid"):
        ex.view(f=0.333)
    with pytest.raises(TypeError, match="must return a View"):
        Explorer(lambda f: 1, [F]).view()


def test_series_rejects_bad_input():
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        Series([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="style must be one of"):
        Series([1], [1], style="wavy")
    with pytest.raises(ValueError, match="marker must be one of"):
        Series([1], [1], marker="x")


def test_non_finite_points_become_gaps():
    v = View([Panel([Series([0, 1, 2], [1.0, np.nan, np.inf])])], text="gaps")
    assert v.to_dict()["panels"][0]["series"][0]["y"] == [1.0, None, None]


# --------------------------------------------------------------- one way to make an explorer

def test_sliders_declare_the_controls_where_the_function_is_written():
    @sliders(F)
    def declared(f):
        return decay(f)

    assert declared.controls == (F,) and declared(0.5).text == decay(0.5).text
    ex = Explorer(declared, title="t", caption="c")              # the words come from the page
    assert ex.controls == [F] and ex.title == "t" and ex.caption == "c"
    assert ex.view().text == decay(0.9).text
    assert Explorer(declared, [Control("f", "other", np.linspace(0, 1, 20))]).controls[0].label == "other"
    with pytest.raises(ValueError, match="at least one Control"):
        Explorer(decay)                                          # nothing declared, none given


def test_the_script_is_the_package_file_written_into_the_page():
    js = static_file("explorer.js")
    assert js.startswith("(function(){") and "window.lstmxDraw" in js
    page = Explorer(decay, [F]).static_html()
    assert f"<script>\n{js}</script></div>" in page and page.endswith("</script></div>")
    css = static_file("explorer.css")
    assert ".lstmx-control" in css and ".lstmx-readout" in css


def test_the_static_files_are_declared_as_package_data():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    assert {"lstm_lib", "lstm_lib.chapters", "lstm_lib.lab", "lstm_lib.viz"} <= set(setuptools["packages"])
    assert set(setuptools["package-data"]["lstm_lib.viz"]) >= {"static/explorer.js", "static/explorer.css"}
