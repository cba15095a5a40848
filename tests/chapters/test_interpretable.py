"""lstm_lib.chapters.interpretable: the properties of source positions, the cell search and the committed model."""
import io
import json
import tokenize
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_lib.chapters import interpretable as ch
from lstm_lib.lab import analysis
from lstm_lib.lab import charlm as lm
from lstm_lib.lab import corpus as C

ROOT = Path(__file__).resolve().parents[2]
CORPUS = C.load_corpus(ROOT / "data" / "corpus.txt")


def tokens_of(source):
    """string and comment masks and bracket depth of `source`, from Python's own tokenizer."""
    lines = source.splitlines(keepends=True)
    starts = np.cumsum([0] + [len(line) for line in lines])
    string = np.zeros(len(source), dtype=np.int64)
    comment = np.zeros(len(source), dtype=np.int64)
    depth_change = np.zeros(len(source), dtype=np.int64)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        a = starts[tok.start[0] - 1] + tok.start[1]
        b = starts[tok.end[0] - 1] + tok.end[1]
        if tok.type == tokenize.STRING:
            first = a + next(k for k, c in enumerate(tok.string) if c in "'\"")   # after the prefix
            string[first:b - 1] = 1                   # the last closing quote leaves the string
        elif tok.type == tokenize.COMMENT:
            comment[a:b] = 1
        elif tok.type == tokenize.OP and tok.string in "([{":
            depth_change[a] += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth_change[a] -= 1
    return string, comment, np.cumsum(depth_change)


@pytest.mark.parametrize("split", C.SPLITS)
def test_properties_agree_with_pythons_tokenizer_on_every_file(split):
    """The scanner's strings, comments and brackets are the tokenizer's, file by file."""
    text = CORPUS.text(split)
    props = ch.python_properties(text)
    start0 = CORPUS.manifest["splits"][split][0]
    checked = 0
    for f in CORPUS.manifest["files"]:
        a = f["start"] - start0
        if not 0 <= a < len(text):
            continue
        b = a + f["chars"]
        source = text[a:b]
        string, comment, depth = tokens_of(source)
        assert np.array_equal(props["string"][a:b], string), f["path"]
        assert np.array_equal(props["comment"][a:b], comment), f["path"]
        assert np.array_equal(props["bracket_depth"][a:b], depth), f["path"]
        checked += 1
    assert checked == len(CORPUS.files(split))


def test_properties_of_a_small_example():
    text = 'x = f("a(b", \'c\\\'d\') # hi (\n    y = """doc\n"q" """\n'
    p = ch.python_properties(text)
    show = lambda k: "".join(str(min(v, 9)) for v in p[k])    # noqa: E731
    assert show("string") == "000000111100011111000000000000000000111111111111100"
    assert show("comment") == "000000000000000000000111111000000000000000000000000"
    assert show("bracket_depth") == "000001111111111111100000000000000000000000000000000"
    assert show("indent") == "000000000000000000000000000012344444444444000000000"
    assert show("column")[:12] == "123456789999"
    assert p["column"][27] == 0 and p["column"][26] == 27
    assert set(p["string_start"][p["string"] == 1]) == {6, 13, 36}
    assert (p["string_start"][p["string"] == 0] == -1).all()


def test_lay_out_matches_the_pieces_the_model_reads():
    ids = np.arange(70) % C.V
    x, _, _ = C.pieces(ids, 4)
    assert np.array_equal(ch.lay_out(ids, 4), x)
    two = ch.lay_out(np.stack([ids, -ids], axis=1), 4)
    assert two.shape == x.shape + (2,) and np.array_equal(two[..., 1], -x)


def test_correlations_match_numpy():
    rng = np.random.default_rng(0)
    a, v = rng.normal(size=(200, 5)), rng.normal(size=200)
    a[:, 3] = 7.0                                               # a constant cell scores 0
    r = ch.correlations(a, v)
    expected = [np.corrcoef(a[:, j], v)[0, 1] for j in (0, 1, 2, 4)]
    assert np.allclose(r[[0, 1, 2, 4]], expected) and r[3] == 0


def test_find_cells_finds_a_planted_cell_and_the_shuffle_finds_nothing():
    rng = np.random.default_rng(1)
    P, n = 4000, 32
    v = (rng.random(P) < 0.3).astype(float)
    acts = rng.normal(size=(P, n))
    acts[:, 17] = -2 * v + 0.5 * rng.normal(size=P)             # cell 17 tracks it, with a minus sign
    select = np.arange(P) < P // 2
    found = ch.find_cells(acts, v, select, ~select)
    assert found["cell"] == 17 and found["r_select"] < -0.8 and found["score"] > 0.8
    report = ch.cell_report(acts, rng.normal(size=(P, n)), {k: v for k in ch.PROPERTIES},
                            select, ~select, seed=0)
    for name in ch.PROPERTIES:
        assert report[name]["trained"]["cell"] == 17
        assert abs(report[name]["untrained"]["score"]) < 0.1
        assert abs(report[name]["shuffled"]["score"]) < 0.1


def test_forget_along_strings_keeps_the_product_over_the_window():
    L, S, n = 100, 2, 3
    f = np.full((L, S, n), 0.5)
    f[:, :, 1] = 0.99                                           # cell 1 keeps
    start = np.full((L, S), -1)
    start[10:90, 0] = 10                                        # one string in piece 0
    out = ch.forget_along_strings(f, start, np.ones((L, S), bool), cell=1, age=40)
    assert out["positions"] == 90 - 50                          # t - 10 >= 40, t < 90
    assert out["f_median"] == pytest.approx(0.99) and out["f_right_saturated"] == 1.0
    assert out["kept_median"] == pytest.approx(0.99 ** 40)
    assert out["others_kept_median"] == pytest.approx(0.5 ** 40)
    assert out["f_median_outside"] == pytest.approx(0.99)


def test_gate_saturation_counts_the_fractions():
    trace = analysis.lstm_trace(lm.make_charlm("lstm", 4, forget_bias=6.0).rnn,
                                torch.nn.functional.one_hot(torch.arange(30).reshape(10, 3) % C.V,
                                                            C.V).double())
    sat = analysis.gate_saturation(trace)
    assert all(v == 1.0 for v in sat["f"]["right"])             # sigma(6) = 0.998 everywhere
    assert all(v == 0.0 for v in sat["f"]["left"])
    mask = np.zeros((10, 3), bool)
    mask[0, 0] = True
    one = analysis.gate_saturation(trace, mask)
    assert one["i"]["right"] == (trace.i[0, 0] > 0.9).astype(float).tolist()
    with pytest.raises(ValueError, match="0 < low < high < 1"):
        analysis.gate_saturation(trace, low=0.5, high=0.4)
    with pytest.raises(ValueError, match="at least one position"):
        analysis.gate_saturation(trace, np.zeros((10, 3), bool))


# --------------------------------------------------------------------------- the committed model

RESULTS = ROOT / "results" / "charlm.json"


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_the_committed_weights_give_the_committed_bits_per_char(cell):
    data = json.loads(RESULTS.read_text())
    run = next(r for r in data["runs"] if r["cell"] == cell)
    path = RESULTS.with_name(run["weights"])
    import hashlib
    assert hashlib.sha256(path.read_bytes()).hexdigest() == run["weights_sha256"]
    model = ch.load_charlm(path, cell)
    assert model.rnn.hidden_size == run["hidden"] and next(model.parameters()).dtype == torch.float64
    assert data["config"]["corpus_sha256"] == CORPUS.sha256
    bpc = lm.bits_per_char(model, CORPUS.ids("test"))
    assert abs(bpc - run["test_bpc"]) < 1e-4                   # float64 here, float32 in the run


def test_load_charlm_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m lstm_lib.lab charlm"):
        ch.load_charlm(tmp_path / "none.pt")


def test_string_start_in_pieces_counts_from_each_piece():
    start = np.array([-1, 1, 1, 1, 1, 1, -1, 7, 7, -1])        # a string across the cut at 5
    grid = ch.string_start_in_pieces(start, 2)
    assert grid[:, 0].tolist() == [-1, 1, 1, 1, 1]
    assert grid[:, 1].tolist() == [-2, -1, 2, 2, -1]
