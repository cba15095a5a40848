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
