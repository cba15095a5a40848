"""Freeze the course's own Python source into one text file: the corpus of the character-level lab.

    python scripts/freeze_corpus.py            # writes data/corpus.txt, .sha256 and .json
    python scripts/freeze_corpus.py --force    # the same, over an existing corpus
    python scripts/freeze_corpus.py --check    # verify the frozen file against its checksum

The corpus is read once and then never again from the sources: the code keeps
changing, and every training run, test and chapter must see the same bytes.
What goes in, in this order:

* every ``.py`` file under ``lstm_lib/``, ``tests/`` and ``scripts/``, and the
  code cells of every notebook in ``book/`` (joined by blank lines), as they
  stand in the working tree when the script runs;
* each one preceded by a comment line ``# file: <path>`` and followed by a
  blank line, in the order of the SHA-256 of its path (a fixed shuffle, so that
  each split mixes library, tests, scripts and notebooks);
* the text as it is (UTF-8; the few characters outside ASCII stay; the
  lab's vocabulary maps them to one symbol).

The splits are contiguous and end at file boundaries: training is the text up
to the first file boundary at or after 80 % of the characters, validation runs
to the first boundary at or after 90 %, and the held-out test split is the rest.
``data/corpus.json`` records them (character offsets), with every file's place,
the date, the commit the sources came from and this command;
``data/corpus.sha256`` is the checksum in ``sha256sum`` format
(``cd data && sha256sum -c corpus.sha256``). An existing corpus is never
overwritten without ``--force``.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data"
NAME = "corpus.txt"
SOURCES = ("lstm_lib", "tests", "scripts")       # every .py file under these
NOTEBOOKS = "book"                               # the code cells of every notebook here
SPLITS = {"train": 0.8, "validation": 0.9}       # each ends at the first file boundary at or after


def sources(root: Path) -> list[tuple[str, str]]:
    """(path, text) of every source that goes into the corpus, in the corpus's order."""
    found = []
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*.py")):
            if any(part.startswith(".") or part == "__pycache__" for part in path.parts):
                continue
            found.append((path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")))
    for path in sorted((root / NOTEBOOKS).glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = ["".join(c["source"]).strip("\n") for c in cells if c["cell_type"] == "code"]
        found.append((path.relative_to(root).as_posix(), "\n\n".join(c for c in code if c)))
    return sorted(found, key=lambda item: hashlib.sha256(item[0].encode()).hexdigest())


def assemble(files: list[tuple[str, str]]) -> tuple[str, list[dict]]:
    """The corpus text and each file's place in it (start offset and length, in characters)."""
    parts, places, at = [], [], 0
    for path, text in files:
        block = f"# file: {path}\n{text.rstrip(chr(10))}\n\n"
        places.append({"path": path, "start": at, "chars": len(block)})
        parts.append(block)
        at += len(block)
    return "".join(parts), places


def splits(places: list[dict], total: int) -> dict[str, list[int]]:
    """[start, end) character offsets of train, validation and test, cut at file boundaries."""
    bounds = [p["start"] + p["chars"] for p in places]
    cuts = [next(b for b in bounds if b >= fraction * total) for fraction in SPLITS.values()]
    if not 0 < cuts[0] < cuts[1] < total:
        raise ValueError(f"the splits need more files than these: cuts {cuts} of {total} characters")
    return {"train": [0, cuts[0]], "validation": [cuts[0], cuts[1]], "test": [cuts[1], total]}


def git_commit(root: Path) -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", *SOURCES, NOTEBOOKS))
    except OSError:
        return {"commit": None, "uncommitted_changes": None}
    return {"commit": commit or None, "uncommitted_changes": dirty}


def freeze(root: Path, out: Path, argv: list[str]) -> dict:
    text, places = assemble(sources(root))
    data = text.encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    manifest = {
        "file": NAME, "sha256": sha, "bytes": len(data), "chars": len(text),
        "non_ascii_chars": sum(ord(ch) > 127 for ch in text),
        "command": shlex.join(["python", "scripts/freeze_corpus.py", *argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sources": {**git_commit(root), "folders": list(SOURCES),
                    "notebooks": f"{NOTEBOOKS}/*.ipynb (code cells)",
                    "order": "by the SHA-256 of each file's path",
                    "separator": "'# file: <path>' before each file, a blank line after"},
        "split_rule": {k: f"to the first file boundary at or after {v:.0%} of the characters"
                       for k, v in SPLITS.items()},
        "splits": splits(places, len(text)),
        "files": places,
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, content in [(NAME, data), ("corpus.sha256", f"{sha}  {NAME}\n".encode()),
                          ("corpus.json", (json.dumps(manifest, indent=1) + "\n").encode())]:
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(content)
        os.replace(tmp, out / name)
    return manifest


def check(out: Path) -> str | None:
    """None if the frozen corpus matches its checksum and manifest, else what is wrong."""
    path = out / NAME
    if not path.is_file():
        return f"{path} does not exist"
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    recorded = (out / "corpus.sha256").read_text().split()[0]
    manifest = json.loads((out / "corpus.json").read_text())
    if sha != recorded or sha != manifest["sha256"]:
        return (f"{path}: SHA-256 {sha}, but corpus.sha256 says {recorded} and corpus.json "
                f"says {manifest['sha256']}")
    return None


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="overwrite an existing corpus")
    parser.add_argument("--check", action="store_true", help="only verify the frozen corpus")
    parser.add_argument("--out", type=Path, default=OUT, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        problem = check(args.out)
        print(problem or f"{args.out / NAME}: checksum OK")
        return 1 if problem else 0
    if (args.out / NAME).exists() and not args.force:
        print(f"{parser.prog}: error: {args.out / NAME} exists; the corpus is frozen once "
              f"(pass --force to make a new one, and retrain everything that read the old)",
              file=sys.stderr)
        return 2
    m = freeze(args.root, args.out, ["--force"] if args.force else [])
    print(f"wrote {args.out / NAME}: {m['chars']:,} characters from {len(m['files'])} files, "
          f"sha256 {m['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
