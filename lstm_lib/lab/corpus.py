"""Real text as a task: the frozen corpus of the course's own source, one character at a time.

The corpus is one file, written once by ``scripts/freeze_corpus.py``
(``data/corpus.txt``), beside its checksum (``corpus.sha256``) and a manifest
(``corpus.json``) that gives the three contiguous splits: train, validation
and test, each ending at a file boundary. :func:`load_corpus` refuses a file
whose SHA-256 differs from the recorded one, so every run reads the same bytes.

The vocabulary has V = 97 symbols: newline, the 95 printable ASCII characters
(space to ``~``) and one symbol, shown as ``¤``, for every other character
(the corpus has a few Greek letters and superscripts in its comments).

Training reads the split as B parallel *streams*, the way char-rnn does: the
text is cut into B contiguous pieces, and each batch holds the next T
characters of every piece (:class:`StreamBatches`). The LSTM's state is carried
from one batch to the next and reset at the start of each epoch, so the network
sees contexts longer than T while gradients flow back at most T steps
(truncated backpropagation through time). Evaluation reads a split the same
way, as S pieces from a zero state (:func:`pieces`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..checks import check_positive_int
from .tasks import Batch

__all__ = ["VOCAB", "OTHER", "V", "encode", "decode", "Corpus", "load_corpus", "StreamBatches",
           "pieces", "SPLITS"]

#: The vocabulary: index 0 is newline, 1..95 are chr(32)..chr(126), 96 is every other character.
OTHER = "\u00a4"
VOCAB = "\n" + "".join(chr(c) for c in range(32, 127)) + OTHER
V = len(VOCAB)
SPLITS = ("train", "validation", "test")
_INDEX = {ch: k for k, ch in enumerate(VOCAB[:-1])}


def encode(text: str) -> np.ndarray:
    """Character indices (int64) of ``text``; a character outside the vocabulary becomes ``V - 1``."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    other = V - 1
    return np.fromiter((_INDEX.get(ch, other) for ch in text), dtype=np.int64, count=len(text))


def decode(ids) -> str:
    """The text of character indices (``V - 1`` shows as ``¤``)."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"ids: expected integers in [0, {V}), got values in "
                         f"[{int(ids.min())}, {int(ids.max())}]")
    return "".join(VOCAB[int(k)] for k in ids.ravel())


@dataclass(eq=False)
class Corpus:
    """The frozen corpus: its text, checksum, manifest and splits.

    ``corpus.text(split)`` is the split's text, ``corpus.ids(split)`` its
    character indices; ``corpus.files(split)`` lists the files in it.
    """
    path: Path
    sha256: str
    manifest: dict
    full_text: str = field(repr=False)

    def _bounds(self, split):
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        return self.manifest["splits"][split]

    def text(self, split: str) -> str:
        start, end = self._bounds(split)
        return self.full_text[start:end]

    def ids(self, split: str) -> np.ndarray:
        return encode(self.text(split))

    def files(self, split: str) -> list[str]:
        start, end = self._bounds(split)
        return [f["path"] for f in self.manifest["files"] if start <= f["start"] < end]


def load_corpus(path="data/corpus.txt") -> Corpus:
    """Read the frozen corpus at ``path`` and check it against its recorded SHA-256.

    The checksum is read from ``corpus.sha256`` and the splits from
    ``corpus.json``, both beside the file (``scripts/freeze_corpus.py`` writes
    all three). A file that was changed, or a manifest that does not belong to
    it, is refused with a ValueError.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus {str(path)!r}: found nothing there (the corpus is made "
                                f"once by scripts/freeze_corpus.py and committed as data/corpus.txt)")
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    sums = path.with_name(path.stem + ".sha256")
    meta = path.with_name(path.stem + ".json")
    for p in (sums, meta):
        if not p.is_file():
            raise FileNotFoundError(f"corpus {str(path)!r}: expected {p.name} beside it, found none")
    recorded = sums.read_text().split()[0]
    manifest = json.loads(meta.read_text())
    if sha != recorded:
        raise ValueError(f"corpus {str(path)!r}: expected SHA-256 {recorded} ({sums.name}), "
                         f"got {sha}: the frozen corpus was changed")
    if manifest.get("sha256") != sha:
        raise ValueError(f"corpus {str(path)!r}: {meta.name} describes a file with SHA-256 "
                         f"{manifest.get('sha256')}, got {sha}")
    return Corpus(path=path, sha256=sha, manifest=manifest, full_text=data.decode("utf-8"))


def _ids(ids, name="ids", minimum=2) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name}: expected a 1-D array of character indices, got "
                         f"shape {ids.shape} and dtype {ids.dtype}")
    if len(ids) < minimum:
        raise ValueError(f"{name}: expected at least {minimum} characters, got {len(ids)}")
    if ids.min() < 0 or ids.max() >= V:
        raise ValueError(f"{name}: expected integers in [0, {V}), got values in "
                         f"[{int(ids.min())}, {int(ids.max())}]")
    return ids.astype(np.int64, copy=False)


class StreamBatches:
    """Batches of B parallel streams of a text, T characters at a time, for stateful training.

    The text (character indices) is cut into B contiguous streams of equal
    length. Each call returns the next :class:`~lstm_lib.lab.tasks.Batch` with
    ``x`` (T, B) int64, the characters read, and ``y`` (T, B), the characters to
    predict (each one's successor). ``batch.meta["reset"]`` is True on the first
    batch of an epoch: the model's state must start from zero there. Each epoch
    starts the streams at a random offset in [0, T) (drawn from ``rng``), so the
    cuts between batches fall at other places every epoch.
    """

    def __init__(self, ids, batch_size, T, rng=0):
        self.ids = _ids(ids)
        self.B = check_positive_int(batch_size, "batch_size")
        self.T = check_positive_int(T, "T")
        self.length = (len(self.ids) - self.T) // self.B       # characters per stream, offset included
        if self.length < self.T + 1:
            raise ValueError(f"ids: {len(self.ids)} characters are too few for {self.B} streams "
                             f"of at least {2 * self.T + 1} (T = {self.T})")
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.per_epoch = (self.length - 1) // self.T           # batches in one epoch
        self.epoch, self._k = 0, self.per_epoch               # the first call starts epoch 1

    def __call__(self) -> Batch:
        if self._k == self.per_epoch:
            self.epoch += 1
            self._k = 0
            offset = int(self.rng.integers(0, self.T))
            starts = offset + self.length * np.arange(self.B)
            self._streams = np.stack([self.ids[s:s + self.length] for s in starts], axis=1)
        a = self._k * self.T
        chunk = self._streams[a:a + self.T + 1]                 # (T + 1, B)
        reset = self._k == 0
        self._k += 1
        return Batch(x=torch.as_tensor(chunk[:-1]), y=torch.as_tensor(chunk[1:]),
                     meta={"reset": reset, "epoch": self.epoch})


def pieces(ids, streams):
    """A text cut into ``streams`` contiguous pieces, side by side, for evaluation.

    Returns ``x`` (L, S) int64 (padded with 0 after a shorter last piece),
    ``y`` (L, S) int64, each character's successor in its piece, -1 where there
    is none (the last character of every piece, and padding), and ``offset``
    (L, S), each position's distance from the start of its piece. Pieces hold
    L = ceil(N / S) characters, the last one the rest (at least 2). Every
    character but the first of each piece is predicted exactly once.
    """
    ids = _ids(ids)
    S = check_positive_int(streams, "streams")
    L = -(-len(ids) // S)
    last = len(ids) - (S - 1) * L
    if last < 2:
        raise ValueError(f"streams: {len(ids)} characters in {S} pieces of {L} leave {max(last, 0)} "
                         f"for the last one, expected at least 2 characters in every piece: "
                         f"use fewer streams")
    padded = np.full(L * S, -1, dtype=np.int64)
    padded[:len(ids)] = ids
    grid = padded.reshape(S, L).T                                # (L, S): column s is piece s
    y = np.full((L, S), -1, dtype=np.int64)
    y[:-1] = grid[1:]
    y[grid == -1] = -1
    x = np.where(grid == -1, 0, grid)
    offset = np.broadcast_to(np.arange(L)[:, None], (L, S)).copy()
    return x, y, offset
