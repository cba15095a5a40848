"""lstm_lib.lab.corpus and scripts/freeze_corpus.py: the frozen corpus, its checksum, splits and batches."""
import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lstm_lib.lab import corpus as C

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
spec = importlib.util.spec_from_file_location("freeze_corpus", ROOT / "scripts" / "freeze_corpus.py")
freeze = importlib.util.module_from_spec(spec)
spec.loader.exec_module(freeze)


# --------------------------------------------------------------------------- the frozen file

def test_the_committed_corpus_matches_its_checksum():
    data = (DATA / "corpus.txt").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert (DATA / "corpus.sha256").read_text() == f"{sha}  corpus.txt\n"
    manifest = json.loads((DATA / "corpus.json").read_text())
    assert manifest["sha256"] == sha and manifest["bytes"] == len(data)
    assert manifest["chars"] == len(data.decode("utf-8"))
    assert 300_000 < manifest["bytes"] < 1_000_000          # "a few hundred KB"
    assert freeze.check(DATA) is None


def test_the_manifest_places_every_file_and_the_splits_at_file_boundaries():
    corpus = C.load_corpus(DATA / "corpus.txt")
    text, files = corpus.full_text, corpus.manifest["files"]
    at = 0
    for f in files:
        assert f["start"] == at and text.startswith(f"# file: {f['path']}\n", at)
        at += f["chars"]
    assert at == len(text)
    kinds = {f["path"].split("/")[0] for f in files}
    assert kinds == {"lstm_lib", "tests", "scripts", "book"}
    assert all(f["path"].endswith(".py") or f["path"].startswith("book/") for f in files)
    splits = corpus.manifest["splits"]
    bounds = {f["start"] for f in files} | {len(text)}
    assert splits["train"][0] == 0 and splits["test"][1] == len(text)
    assert splits["train"][1] == splits["validation"][0] and splits["validation"][1] == splits["test"][0]
    assert {splits["train"][1], splits["validation"][1]} <= bounds
    assert 0.8 <= splits["train"][1] / len(text) < 0.9 <= splits["validation"][1] / len(text) < 1
    assert "".join(corpus.text(k) for k in C.SPLITS) == text
    assert sum(len(corpus.files(k)) for k in C.SPLITS) == len(files)


def test_the_script_makes_the_same_bytes_from_the_same_sources(tmp_path):
    """Freezing is a pure function of the sources: two runs give one checksum (not the committed
    one: the sources have changed since the corpus was frozen, which is the point of freezing)."""
    shas = []
    for k in range(2):
        out = tmp_path / f"c{k}"
        assert freeze.main(["--out", str(out)]) == 0
        shas.append(json.loads((out / "corpus.json").read_text())["sha256"])
        assert freeze.check(out) is None
    assert shas[0] == shas[1]


def test_the_script_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "c"
    out.mkdir()
    (out / "corpus.txt").write_text("frozen")
    assert freeze.main(["--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "corpus.txt").read_text() == "frozen"
    assert freeze.main(["--out", str(out), "--force"]) == 0
    assert json.loads((out / "corpus.json").read_text())["command"].endswith("--force")


def test_check_reports_a_changed_corpus(tmp_path):
    shutil.copytree(DATA, tmp_path / "d")
    path = tmp_path / "d" / "corpus.txt"
    path.write_bytes(path.read_bytes().replace(b"import", b"imprt", 1))
    assert "SHA-256" in freeze.check(tmp_path / "d")
    assert freeze.main(["--check", "--out", str(tmp_path / "d")]) == 1
    with pytest.raises(ValueError, match="SHA-256 .* was changed"):
        C.load_corpus(path)


def test_load_corpus_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="freeze_corpus"):
        C.load_corpus(tmp_path / "corpus.txt")
    (tmp_path / "corpus.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="corpus.sha256"):
        C.load_corpus(tmp_path / "corpus.txt")


def test_a_manifest_of_another_file_is_refused(tmp_path):
    shutil.copytree(DATA, tmp_path / "d")
    meta = tmp_path / "d" / "corpus.json"
    m = json.loads(meta.read_text())
    m["sha256"] = "0" * 64
    meta.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="corpus.json describes"):
        C.load_corpus(tmp_path / "d" / "corpus.txt")


# --------------------------------------------------------------------------- vocabulary

def test_vocabulary_is_newline_printable_ascii_and_one_other():
    assert C.V == 97 and C.VOCAB[0] == "\n" and C.VOCAB[1] == " " and C.VOCAB[95] == "~"
    text = "def f(x):\n    return x  # σ × 2\n"
    ids = C.encode(text)
    assert ids.dtype == np.int64 and len(ids) == len(text)
    assert C.decode(ids) == text.replace("σ", C.OTHER).replace("×", C.OTHER)
    assert (ids == C.V - 1).sum() == 2


def test_encode_and_decode_refuse_bad_input():
    with pytest.raises(TypeError, match="expected a str"):
        C.encode(b"bytes")
    with pytest.raises(ValueError, match=r"in \[0, 97\)"):
        C.decode([3, 97])


# --------------------------------------------------------------------------- batches

def test_stream_batches_read_contiguous_streams_and_reset_each_epoch():
    ids = np.arange(1000) % C.V
    sb = C.StreamBatches(ids, batch_size=4, T=10, rng=0)
    first = sb()
    assert first.x.shape == (10, 4) and first.meta == {"reset": True, "epoch": 1}
    assert np.array_equal(first.x[1:].numpy(), first.y[:-1].numpy())       # y is x one step on
    second = sb()
    assert not second.meta["reset"]
    assert np.array_equal(second.x[0].numpy(), first.y[-1].numpy())        # the streams continue
    batches = [first, second] + [sb() for _ in range(sb.per_epoch - 2)]
    assert sb.epoch == 1
    nxt = sb()
    assert nxt.meta == {"reset": True, "epoch": 2}
    stream0 = np.concatenate([b.x[:, 0].numpy() for b in batches])
    assert np.array_equal(np.diff(stream0) % C.V, np.ones(len(stream0) - 1) % C.V)   # one piece of text


def test_stream_batches_are_reproducible_and_refuse_a_short_text():
    a = [C.StreamBatches(np.arange(500) % C.V, 3, 7, rng=5)().x for _ in range(2)]
    assert np.array_equal(a[0], a[1])
    with pytest.raises(ValueError, match="too few"):
        C.StreamBatches(np.arange(30) % C.V, 4, 10)


def test_pieces_predict_every_character_but_the_first_of_each_piece_once():
    ids = np.arange(23) % C.V
    x, y, offset = C.pieces(ids, 4)
    assert x.shape == y.shape == offset.shape == (6, 4)
    keep = y >= 0
    assert keep.sum() == 23 - 4
    predicted = sorted(y[keep].tolist())
    starts = [0, 6, 12, 18]
    assert predicted == [int(i) for k, i in enumerate(ids) if k not in starts]
    assert np.array_equal(x[:, 1], ids[6:12]) and list(offset[:, 2]) == list(range(6))
    with pytest.raises(ValueError, match="at least 2 characters in every piece"):
        C.pieces(ids[:7], 4)
