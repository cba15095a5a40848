"""Results files and the command lines that write them (``lstm_lib.lab``, ``lstm_lib.lab.bench``).

A number the book quotes from a long run must say where it came from. Each
results file therefore records the exact command, the versions, the date and
the machine (:func:`environment`). The command lines share a parser whose
errors are one line and exit status 2, never a traceback (:class:`Parser`),
the same argument types, and the same rules for the output file: never
overwrite an existing one without ``--force``, fail before running if it
cannot be written (:func:`check_out`), and write it atomically
(:func:`write_json`). Where the files live is the caller's business:
:func:`load_results` takes a path (the book's notebooks pass
``../results/<name>``).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import tempfile
from pathlib import Path

import numpy as np
import torch

from .. import __version__

__all__ = ["load_results", "cpu_model", "load_average", "environment", "Parser", "positive_int",
           "positive_float", "real", "check_out", "write_json"]


def load_results(path):
    """A results file as a dict (the book reads its numbers from the committed ones)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file {str(path)!r}: found nothing there (results files "
                                f"are written by python -m lstm_lib.lab or lstm_lib.lab.bench)")
    return json.loads(path.read_text())


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average():
    """The 1, 5 and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def environment(program, argv):
    """What a results file records about how and where it was made.

    program: the module run, e.g. "lstm_lib.lab"; argv: its arguments. The
    caller adds what else it measures to ``["machine"]``.
    """
    return {
        "command": f"python -m {program} " + shlex.join(argv),
        "argv": list(argv),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "lstm_lib": __version__},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                    "arch": platform.machine()},
    }


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr and exit status 2, never a traceback."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text):
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _number(text, expected):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def real(text):
    """argparse type: a finite number."""
    value = _number(text, "a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    value = _number(text, "a positive number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def check_out(parser, path: Path, force: bool):
    """Fail early, in one line, if the results file cannot or must not be written."""
    if path.is_dir():
        parser.error(f"--out: {path} is a directory, expected a file name")
    if path.exists() and not force:
        parser.error(f"--out: {path} exists; pass --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        parser.error(f"--out: directory {parent} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".results-", suffix=".tmp"):
            pass
    except OSError as exc:
        parser.error(f"--out: cannot write in {parent}: {exc.strerror or exc}")


def write_json(path: Path, data):
    """Write ``data`` to ``path`` as indented JSON, atomically (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)
