import matplotlib
import pytest

from lstm_lib.viz import plotting


def test_palette_and_styles_differ_beyond_colour():
    styles = [plotting.style(k) for k in range(4)]
    assert len({s["color"] for s in styles}) == 4
    assert len({str(s["linestyle"]) for s in styles}) == 4
    assert len({s["marker"] for s in styles}) == 4


def test_use_style_sets_a_white_background():
    plotting.use_style()
    assert matplotlib.rcParams["figure.facecolor"] == "white"
    assert matplotlib.rcParams["savefig.facecolor"] == "white"


def test_source_markdown_is_the_real_source():
    md = plotting.source_markdown(plotting.style)
    assert "from `lstm_lib/viz/plotting.py`" in md
    assert "def style(k: int) -> dict:" in md
    assert md.count("```") == 2


def test_source_markdown_needs_source():
    with pytest.raises(TypeError):
        plotting.source_markdown(42)


def test_source_markdown_sees_through_decorators():
    from lstm_lib import fast
    from lstm_lib.viz.plotting import source_markdown

    text = source_markdown(fast.LSTMLayerFunction.backward)     # wrapped by once_differentiable
    assert "from `lstm_lib/fast.py`" in text
    assert "def backward(ctx, dH_out, dh_T, dc_T):" in text


def test_source_markdown_names_the_file_from_the_package_root():
    from lstm_lib.chapters import memory

    assert "from `lstm_lib/chapters/memory.py`" in plotting.source_markdown(memory.forget_memory)


# ------------------------------------------------------------ legible figures

def test_use_style_makes_text_legible_at_the_figure_width():
    plotting.use_style()
    rc = matplotlib.rcParams
    assert rc["figure.figsize"][0] == plotting.FIG_WIDTH <= 4.4
    for key in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
                "ytick.labelsize", "legend.fontsize"):
        assert matplotlib.font_manager.FontProperties(size=rc[key]).get_size_in_points() >= 12
    assert rc["svg.fonttype"] == "none"          # text stays text in the SVG


def test_legend_below_lists_each_label_once():
    import matplotlib.pyplot as plt

    plotting.use_style()
    fig, (a, b) = plt.subplots(2, 1)
    for ax in (a, b):
        ax.plot([0, 1], [0, 1], label="same line")
    b.plot([0, 1], [1, 0], label="other")
    legend = plotting.legend_below(fig)
    assert [t.get_text() for t in legend.get_texts()] == ["same line", "other"]
    plt.close(fig)


# ------------------------------------------------------------ listings

def _checked(x):
    """A docstring the listing leaves out."""
    check_positive(x)
    if x > 10:
        raise ValueError("x: expected at most 10")
    return 2 * x


def _checked_and_used(x):
    """Its check defines a name the maths uses: that line stays."""
    n = check_positive(x)
    return n + 1


def check_positive(x):
    return x


def test_listings_leave_out_the_docstring_and_leading_checks():
    text = plotting.source_markdown(_checked)
    assert "A docstring" not in text and "check_positive" not in text and "raise" not in text
    assert "    # (docstring and input checks: lines" in text and "return 2 * x" in text
    kept = plotting.source_markdown(_checked_and_used)
    assert "n = check_positive(x)" in kept and "(docstring: lines" in kept
    from lstm_lib import reference

    listing = plotting.source_markdown(reference.rnn_step)
    assert 'a = x_t @ params["W_xh"].T' in listing and "check_rnn_params" not in listing


def test_source_html_wraps_each_line_with_a_hanging_indent():
    import re

    html_text = plotting.source_html(_checked)
    lines = re.findall(r'<span class="course-line" style="([^"]*)">', html_text)
    assert len(lines) == 3            # def, the comment for what was left out, return
    assert lines[0] == "display:block;padding-left:4ch;text-indent:-4ch"
    assert lines[2] == "display:block;padding-left:8ch;text-indent:-8ch"
    assert "white-space:pre-wrap" in html_text and "test_plotting.py</code> (lines" in html_text


def test_show_source_displays_the_listing_as_markdown(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    plotting.show_source(_checked)
    assert set(shown[0]) == {"text/markdown", "text/plain"}
    assert shown[0]["text/markdown"].startswith('<div class="course-listing">')
