"""Results files and the command lines that write them (``lstm_lib.lab``, ``lstm_lib.lab.bench``).

A number the book quotes from a long run must say where it came from. Each
results file therefore records the exact command, the versions, the date and
the machine (:func:`environment`). The command lines share a parser whose
errors are one line and exit status 2, never a traceback (:class:`Parser`),
the same argument types, and the same rules for the output file: never
overwrite an existing one without ``--force``, never replace anything that
is not a regular file (a device, a FIFO, a socket, or a symbolic link to
one), whatever ``--force`` says, fail before running if it cannot be written
(:func:`check_out`), and write it atomically (:func:`write_json`). Where the files live is the caller's business:
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
import stat
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from .. import __version__

__all__ = ["load_results", "cpu_model", "load_average", "memory_total", "environment", "Parser",
           "positive_int", "positive_float", "real", "not_a_regular_file", "check_out",
           "write_json", "write_out"]


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


def memory_total():
    """The memory this process may use, in bytes: the machine's physical memory, or the
    limit of its control group (a container) if lower; None where neither can be read."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
    limits = [v for v in limits if v > 0]
    return min(limits) if limits else None


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


_KINDS = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISDIR, "a directory")]


def not_a_regular_file(path):
    """What ``path`` is if it exists and is not a regular file, else None.

    E.g. "a FIFO (named pipe)", "a character device", or "a symbolic link to a
    socket (/tmp/s)"; a symbolic link to a regular file counts as a regular file.
    """
    try:
        st = os.stat(path)                 # follows symbolic links
    except OSError:
        return None       # nothing there (or a dangling link): a new file, if its folder allows
    if stat.S_ISREG(st.st_mode):
        return None
    kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a file")
    if os.path.islink(path):
        return f"a symbolic link to {kind} ({os.path.realpath(path)})"
    return kind


def check_out(parser, path: Path, force: bool):
    """Fail early, in one line, if the results file cannot or must not be written."""
    if path.is_dir():
        parser.error(f"--out: {path} is a directory, expected a file name")
    kind = not_a_regular_file(path)
    if kind:
        parser.error(f"--out: {path} is {kind}, not a regular file; refusing to replace it "
                     f"(with or without --force)")
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


def _new_file_mode():
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_json(path: Path, data):
    """Write ``data`` to ``path`` as indented JSON, atomically (a reader never sees half a file).

    Refuses (ValueError) a ``path`` that exists and is not a regular file: a
    device, FIFO or socket is never replaced. A symbolic link to a regular
    file stays in place; the file it names gets the new content. The
    temporary file is created afresh beside the target (never opened through
    a name that might already exist) and renamed over it.
    """
    kind = not_a_regular_file(path)
    if kind:
        raise ValueError(f"path: {path} is {kind}, not a regular file; refusing to replace it")
    target = Path(os.path.realpath(path))
    mode = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else _new_file_mode()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), mode)
            f.write(json.dumps(data, indent=1) + "\n")
        kind = not_a_regular_file(target)          # replaced meanwhile? never rename over it
        if kind:
            raise ValueError(f"path: {path} is {kind}, not a regular file; refusing to replace it")
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def write_out(prog, path: Path, data, force: bool) -> int:
    """:func:`write_json` at the end of a command line's run; returns its exit status.

    The run took time: check ``--out`` again, since something may have
    appeared there meanwhile. On refusal, one line on stderr and status 2.
    """
    kind = not_a_regular_file(path)
    if kind:
        message = f"{path} is {kind}, not a regular file; refusing to replace it"
    elif path.exists() and not force:
        message = f"{path} appeared while running; pass --force to overwrite it"
    else:
        try:
            write_json(path, data)
            return 0
        except ValueError as exc:                 # replaced by a special file just now
            message = str(exc).removeprefix("path: ")
        except OSError as exc:
            message = f"{path} cannot be written: {exc.strerror or exc}"
    print(f"{prog}: error: --out: {message}", file=sys.stderr)
    return 2
