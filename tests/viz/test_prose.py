"""lstm_lib.viz.prose: values formatted once, the same text in every front-end."""
import copy

import numpy as np
import pytest
import torch

from lstm_lib.viz import prose
from lstm_lib.viz.prose import Numbers, Text, check_margin, format_value, link_prose


@pytest.mark.parametrize("value, fmt, text", [
    (0.0387, ".3f", "0.039"),
    (1000, ",d", "1,000"),
    (-0.25, ".2f", "\u22120.25"),
    (2.178860622608206e-06, ".2e", "2.18 × 10⁻⁶"),
    (1e-6, ".0e", "10⁻⁶"),
    (3e-64, ".0e", "3 × 10⁻⁶⁴"),
    (-4.5e12, ".1e", "\u22124.5 × 10¹²"),
    (0.7311, ".0%", "73%"),
    (-0.003, ".0%", "0%"),            # rounds to zero: no sign
    (-0.001, ".2f", "0.00"),
    (-3e-7, ".0e", "−3 × 10⁻⁷"),
    (551.3, ".3g", "551"),
    (5.43e-12, ".2g", "5.4 × 10⁻¹²"),
    (0.0769, ".2g", "0.077"),
    ("3 of 5", None, "3 of 5"),
])
def test_format_value(value, fmt, text):
    assert format_value(value, fmt) == text


@pytest.mark.parametrize("value, fmt, error", [
    (0.5, None, TypeError),          # a number needs a format
    ("x", ".2f", TypeError),         # a string takes none
    (True, ".2f", TypeError),
    (2.0, "d", TypeError),           # 'd' wants an integer
    (float("nan"), ".2f", ValueError),
    (float("inf"), ".1e", ValueError),
    (1j, ".2f", TypeError),
])
def test_format_value_refuses(value, fmt, error):
    with pytest.raises(error):
        format_value(value, fmt)


def test_margin_refuses_a_value_on_a_rounding_boundary():
    check_margin(0.1234, ".2f", 1e-9)                 # far from a boundary
    check_margin(123456, ",d", 0.5)                   # integers are exact
    with pytest.raises(ValueError, match="another CPU"):
        check_margin(0.125, ".2f", 1e-9)              # 0.12 or 0.13, by one bit
    with pytest.raises(ValueError, match="fewer digits"):
        check_margin(2.1788606226082e-06, ".13e", 1e-9)
    # the example: the last digits differ between CPUs, the rounded text does not
    a, b = 2.178860622608206e-06, 2.1788606226082176e-06
    assert format_value(a, ".3e") == format_value(b, ".3e")
    check_margin(a, ".3e", 1e-9)


def test_put_stores_text_and_emits_a_record(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda data, raw=False, metadata=None: shown.append((data, metadata)))
    ch9 = Numbers("ch9")
    assert ch9.put("half_life", np.float64(6.578813478960585), ".2f") is None
    text = ch9.half_life
    assert text == "6.58" and isinstance(text, Text) and repr(text) == "6.58"
    assert ch9.half_life == "6.58" and ch9["half_life"] == "6.58" and "half_life" in ch9
    assert shown == [({prose.MIME: "6.58"},
                      {"scrapbook": {"name": "ch9.half_life",
                                     "mime_prefix": "application/papermill.record/"}})]
    ch9.put("steps", np.int64(1000), ",d", display=False)
    ch9.put("loss", torch.tensor(0.25, dtype=torch.float64), ".3f", display=False)
    assert (ch9.steps, ch9.loss) == ("1,000", "0.250")
    with pytest.raises(AttributeError, match="ch9.missing: nothing was put"):
        ch9.missing


@pytest.mark.parametrize("args, error", [
    (("bad name", 1.0, ".2f"), ValueError),
    (("x", 0.125, ".2f"), ValueError),
    (("x", 1.0, ".2f", 2.0), ValueError),      # margin outside [0, 1)
])
def test_put_refuses(args, error):
    ch9 = Numbers("ch9")
    name, value, fmt, *margin = args
    with pytest.raises(error):
        ch9.put(name, value, fmt, margin=margin[0] if margin else 1e-9, display=False)


@pytest.mark.parametrize("prefix", ["", "Ch2", "2ch", "ch 2", None])
def test_prefix_must_be_a_short_name(prefix):
    with pytest.raises(ValueError):
        Numbers(prefix)


def _record(key, text):
    return {"output_type": "display_data", "data": {prose.MIME: text},
            "metadata": {"scrapbook": {"name": key, "mime_prefix": "application/papermill.record/"}}}


def _notebook(*cells):
    out = []
    for kind, body in cells:
        if kind == "code":
            out.append({"cell_type": "code", "source": "", "metadata": {}, "outputs": body})
        else:
            out.append({"cell_type": "markdown", "source": body, "metadata": {}})
    return {"cells": out}


def test_link_prose_writes_user_expressions():
    nb = _notebook(("code", [_record("ch9.a", "0.039"), _record("ch9.n", "1,000")]),
                   ("md", "We keep {eval}`ch9.a` after {eval}`ch9.n` steps; {eval}`ch9.a` again."),
                   ("md", "No numbers here."))
    nb["cells"][2]["metadata"]["user_expressions"] = [{"expression": "stale"}]
    assert link_prose(nb) == []
    meta = nb["cells"][1]["metadata"]["user_expressions"]
    assert meta == [
        {"expression": "ch9.a", "result": {"status": "ok", "data": {"text/plain": "0.039"}, "metadata": {}}},
        {"expression": "ch9.n", "result": {"status": "ok", "data": {"text/plain": "1,000"}, "metadata": {}}}]
    assert "user_expressions" not in nb["cells"][2]["metadata"]


def test_link_prose_reports_every_problem():
    nb = _notebook(("md", "Too early: {eval}`ch9.late`."),
                   ("code", [_record("ch9.a", "1"), _record("ch9.a", "2")]),
                   ("md", "Missing: {eval}`ch9.gone`."),
                   ("code", [_record("ch9.late", "3")]))
    problems = link_prose(copy.deepcopy(nb))
    assert any("ch9.a is put twice" in p for p in problems)
    assert any("ch9.gone" in p and "no value" in p for p in problems)
    assert any("quotes ch9.late, which is put later" in p for p in problems)


def test_below_states_a_bound_that_was_checked():
    ch9 = Numbers("ch9")
    ch9.below("err", 3.1e-16, 1e-14, display=False)
    assert ch9.err == "10⁻¹⁴"
    ch9.below("err32", np.float32(2.3e-7), 1e-6, display=False)
    assert ch9.err32 == "10⁻⁶"
    with pytest.raises(ValueError, match="is not below"):
        ch9.below("big", 2e-14, 1e-14, display=False)
    with pytest.raises(ValueError, match="is not below"):
        ch9.below("nan", float("nan"), 1e-14, display=False)
    with pytest.raises(ValueError, match="bound"):
        ch9.below("neg", 1e-20, -1.0, display=False)
