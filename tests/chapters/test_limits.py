"""lstm_lib.chapters.limits: Chapter 9's checks, counts and readers of results files."""
import json
from pathlib import Path

import pytest
import torch

from lstm_lib.chapters import limits as C
from lstm_lib.lab import seq2seq, tasks

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[2]


def test_check_attention_agrees_with_torch_to_rounding():
    found = C.check_attention()
    assert set(found) == {"no mask", "causal", "boolean mask", "float mask with -inf", "module"}
    for case, d in found.items():
        assert 0 <= d["output"] < 1e-13 and 0 <= d["gradient"] < 1e-13, case


def test_dependent_steps():
    assert [C.dependent_steps("lstm", T) for T in (1, 10, 1000)] == [1, 10, 1000]
    assert [C.dependent_steps("attention", T) for T in (1, 10, 1000)] == [1, 1, 1]
    with pytest.raises(ValueError, match="kind"):
        C.dependent_steps("gru", 3)
    with pytest.raises(ValueError, match="T"):
        C.dependent_steps("lstm", 0)


@pytest.mark.parametrize("n,criterion,expected", [(4, 0.99, 4), (8, 0.99, 9), (16, 0.99, 22),
                                                  (1, 0.5, 3), (8, 0.999, 8), (2, 0.9, 2)])
def test_predicted_longest(n, criterion, expected):
    L = C.predicted_longest(n, criterion)
    assert L == expected
    assert seq2seq.readout_regions(n, L) / 2 ** L >= criterion
    assert seq2seq.readout_regions(n, L + 1) / 2 ** (L + 1) < criterion


def test_predicted_longest_bad_input():
    with pytest.raises(ValueError, match="criterion"):
        C.predicted_longest(4, 1.0)
    with pytest.raises(ValueError, match="n"):
        C.predicted_longest(0)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_hand_built_recall_stores_one_value_per_unit(n):
    net = C.hand_built_recall(n)
    b = tasks.associative_recall(n, 500, rng=n)
    m = seq2seq.recall_metrics(net, b)
    assert m["sequence_accuracy"] == 1.0 and m["loss"] < 1e-10
    with torch.no_grad():
        _, (h_L, _) = net.encoder(seq2seq.split_recall(b)[0].double())
    value_of = torch.empty(n, 500, dtype=torch.int64)
    value_of[b.meta["keys"], torch.arange(500)] = torch.as_tensor(b.meta["values"])
    assert torch.equal((h_L[0] > 0).long(), value_of.T)          # unit k holds key k's value
    assert float(h_L.abs().min()) > 0.7                          # tanh(1) = 0.76: saturated latches


def test_timing_curves_reads_a_sweep(tmp_path):
    from lstm_lib.lab import bench
    out = tmp_path / "sweep.json"
    assert bench.main(["--sweep", "attention", "--quick", "--threads", "1", "--repeats", "3",
                       "--min-block", "0.001", "--quiet", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    c = C.timing_curves(data)
    assert c["T"] == bench.ATTENTION_QUICK["T"]
    for what in ("attention", "ours", "attention_vs_ours"):
        for lo, mid, hi in zip(c[what]["q1"], c[what]["median"], c[what]["q3"]):
            assert 0 < lo <= mid <= hi
    assert len(c["load"]) == len(c["T"]) and set(c["ms"]) == {"ours", "torch", "attention"}
    with pytest.raises(ValueError, match="no rows"):
        C.timing_curves(data, threads=7)
    with pytest.raises(ValueError, match="attention sweep"):
        C.timing_curves({"schema": "lstm_lib.bench/1"})


def test_bottleneck_table_reads_a_run(tmp_path):
    from lstm_lib.lab import cli
    out = tmp_path / "b.json"
    assert cli.main(["bottleneck", "--hidden", "2", "--lengths", "2,3", "--seeds", "2",
                     "--steps", "3", "--eval-every", "2", "--test-size", "8", "--batch", "4",
                     "--quiet", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    t = C.bottleneck_table(data)
    assert t["n"] == 2 and t["seeds"] == [0, 1] and [r["L"] for r in t["rows"]] == [2, 3]
    assert t["rows"][0]["bound"] == 1.0 and t["rows"][1]["bound"] == 7 / 8
    for row in t["rows"]:
        for model in seq2seq.MODELS:
            assert len(row[model]["best"]) == 2
            assert all(s == (b >= t["criterion"]) for s, b in zip(row[model]["solved"],
                                                                 row[model]["best"]))
    assert set(t["longest"]) == set(seq2seq.MODELS)
    with pytest.raises(ValueError, match="bottleneck results file"):
        C.bottleneck_table({"experiment": "adding"})


@pytest.mark.parametrize("name", ["bottleneck_n4.json", "bottleneck_n8.json"])
def test_committed_bottleneck_results_agree_with_the_prediction(name):
    """What the chapter states: the bottleneck never beats the count and solves exactly the
    predicted lengths; attention beats the count wherever the count rules solving out."""
    t = C.bottleneck_table(json.loads((ROOT / "results" / name).read_text()))
    assert len(t["seeds"]) >= 3 and t["criterion"] == 0.99
    predicted = C.predicted_longest(t["n"], t["criterion"])
    assert t["longest"]["bottleneck"] == [predicted] * len(t["seeds"])
    for row in t["rows"]:
        assert all(b <= row["bound"] + 1e-12 for b in row["bottleneck"]["best"]), row["L"]
        if row["bound"] < t["criterion"]:
            assert all(a > row["bound"] for a in row["attention"]["best"]), row["L"]
    assert all(all(row["attention"]["solved"]) for row in t["rows"][:-1])


# --------------------------------------------------------------------------- the chapter's length

def main_path_words(notebook):
    """Words on a chapter's main path: Markdown prose outside dropdowns, exercises,
    solutions, notes and code; a math span or a role counts as one word."""
    import re
    text, in_solution = [], False
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        src = "".join(cell["source"])
        if "{solution-start}" in src:
            in_solution = True
        if in_solution:
            in_solution = "{solution-end}" not in src
            continue
        src = re.sub(r"^(`{3,}|:{3,})\{?[\w-]*\}?.*?^\1\s*$", " ", src, flags=re.S | re.M)
        src = re.sub(r"\$\$.*?\$\$", " MATH ", src, flags=re.S)
        src = re.sub(r"\$[^$]+\$", " MATH ", src)
        src = re.sub(r"\{[\w:-]+\}`[^`]*`", " ROLE ", src)
        src = re.sub(r"^\([\w-]+\)=\s*$", " ", src, flags=re.M)
        text.append(src)
    return len(re.findall(r"[A-Za-z0-9][\w'’.,%-]*", " ".join(text)))


def test_chapter_main_path_is_within_the_budget():
    path = ROOT / "book" / "09-limits.ipynb"
    words = main_path_words(json.loads(path.read_text()))
    print(f"Chapter 9 main path: {words} words")
    assert 1000 < words <= 3500
