"""Numbers from code to prose: the one way a chapter quotes a value it computed.

A chapter computes a value in a code cell and hands it to the prose under a
name, formatted once, here::

    ch2 = Numbers("ch2")                        # first cell of Chapter 2
    ch2.put("half_life", half_life(0.9), ".1f")   # a later cell: stores "6.6"

and a Markdown cell quotes it with the MyST role ``{eval}`ch2.half_life```.
The same text then reaches every reader:

* **JupyterLab** (jupyterlab-myst) evaluates ``ch2.half_life`` in the kernel
  after Run All, and shows the text stored in the cell's ``user_expressions``
  metadata before any kernel runs (``scripts/execute_notebooks.py`` writes it).
* **The website** (Jupyter Book) reads the record that :meth:`Numbers.put`
  displayed in the code cell's outputs (``book/_ext/course_numbers.py``).
* **nbval** compares that record on every re-execution, so a number that
  changes fails the tests.

Values are stored *formatted*, with the digits the prose shows. Another CPU
runs other floating-point kernels and changes the last digits of a float;
a rounded value only changes if it sits on a rounding boundary, so ``put``
refuses a value that a relative change of ``margin`` would print differently:
choose fewer digits (or, for a noisy quantity such as a trained model's loss,
a larger margin). Format specs are Python's (``".3f"``, ``",d"``, ``".0%"``)
with two typographic rules: an ``e`` format (or a ``g`` format that chooses an
exponent) prints ``2.2 × 10⁻⁶`` rather than ``2.2e-06``, and a negative
number takes a true minus sign (−).

This module imports nothing of the course: it is plumbing between a notebook,
its outputs and the website, and ``records`` reads a notebook's JSON for the
website build and the tests.
"""
from __future__ import annotations

import math
import numbers
import re

MIME = "application/papermill.record/text/plain"
"""The output type of a record: the one myst-nb's ``glue`` uses, so the website
build and JupyterLab hide it and nbval compares it."""

PREFIX = re.compile(r"^[a-z][a-z0-9_]*$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
EXPRESSION = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")
ROLE = re.compile(r"\{eval\}`([^`]*)`")

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
MINUS = "\u2212"


class Text(str):
    """A formatted number: a str whose repr is itself, so a kernel shows it unquoted."""

    def __repr__(self) -> str:
        return str(self)


def format_value(value, fmt: str | None) -> str:
    """``value`` formatted with the Python format spec ``fmt``, typeset for prose.

    ``fmt=None`` takes a string as it is. An ``e``/``E`` spec (and a ``g`` spec
    that picks an exponent, as ``.2g`` does below 1e-4) prints a power of
    ten (``format_value(2.2e-6, ".1e") == "2.2 × 10⁻⁶"``; a mantissa of exactly
    1 prints ``10⁻⁶``), and a leading minus becomes the typographic minus sign,
    except on a value that rounds to zero (``-0.001`` with ``".2f"`` is ``"0.00"``).
    """
    if fmt is None:
        if not isinstance(value, str):
            raise TypeError(f"fmt: a number needs a format spec such as '.3f', got None "
                            f"for {type(value).__name__} {value!r}")
        return value
    if isinstance(value, str) or isinstance(value, bool):
        raise TypeError(f"value: expected a number for format {fmt!r}, got {value!r}")
    if not isinstance(value, numbers.Real):
        raise TypeError(f"value: expected a real number, got {type(value).__name__}")
    if fmt.endswith("d") and not isinstance(value, numbers.Integral):
        raise TypeError(f"value: format {fmt!r} needs an integer, got {value!r}; "
                        f"convert it with int() if it is one")
    if not isinstance(value, numbers.Integral) and not math.isfinite(value):
        raise ValueError(f"value: expected a finite number, got {value!r}")
    text = format(value, fmt)
    if fmt[-1:] in ("e", "E") or (fmt[-1:] in ("g", "G") and re.search("[eE]", text)):
        mantissa, exponent = re.split("[eE]", text)
        power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
        sign = "-" if mantissa.startswith("-") else ""
        bare = mantissa.lstrip("+-")
        text = sign + (power if bare == "1" else f"{bare} × {power}")
    if text.startswith("-"):
        # a negative value that rounds to zero prints as zero: "0.00", not "−0.00"
        text = text[1:] if not re.search("[1-9]", text.split("×")[0]) else MINUS + text[1:]
    return text


def check_margin(value, fmt: str | None, margin: float, name: str = "value") -> None:
    """Raise if ``value`` changed by a relative ``margin`` would print differently.

    Integers and strings are exact and always pass. A float whose printed
    digits depend on its last bits would print differently on a CPU whose
    kernels round differently, so it is refused with a message saying so.
    """
    if fmt is None or isinstance(value, numbers.Integral):
        return
    text = format_value(value, fmt)
    for nearby in (value * (1 - margin), value * (1 + margin)):
        other = format_value(nearby, fmt)
        if other != text:
            raise ValueError(
                f"{name} = {value!r} prints as {text!r} with format {fmt!r}, but a relative "
                f"change of {margin:g} prints {other!r}: another CPU's floating-point kernels "
                f"could print either. Show fewer digits, or pass a larger margin if the value "
                f"is noisy and a smaller one if it is exact.")


class Numbers:
    """The values one chapter hands to its prose, under a chapter prefix.

    ``put`` formats and stores a value and displays it as a record; attribute
    access (``ch2.half_life``) returns the stored :class:`Text`, which is what
    ``{eval}`ch2.half_life``` evaluates to in JupyterLab.
    """

    def __init__(self, prefix: str):
        if not isinstance(prefix, str) or not PREFIX.match(prefix):
            raise ValueError(f"prefix: expected a short lowercase name such as 'ch2', got {prefix!r}")
        self._prefix = prefix
        self._values: dict[str, Text] = {}

    def put(self, name: str, value, fmt: str | None, *, margin: float = 1e-9,
            display: bool = True) -> None:
        """Format ``value`` with ``fmt`` and store it as ``name`` (read it back as ``self.name``).

        Returns None, so a ``put`` on the last line of a cell displays nothing.

        margin: the relative change the printed digits must survive (see
        :func:`check_margin`); the default suits float64 computations, a value
        from float32 arithmetic or from training wants about 1e-4.
        display: emit the record as a cell output (False only outside IPython).
        """
        if not isinstance(name, str) or not NAME.match(name):
            raise ValueError(f"name: expected a Python identifier, got {name!r}")
        if not (isinstance(margin, numbers.Real) and 0 <= margin < 1):
            raise ValueError(f"margin: expected a number in [0, 1), got {margin!r}")
        if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
            value = value.item()        # a numpy or torch scalar
        key = f"{self._prefix}.{name}"
        text = Text(format_value(value, fmt))
        check_margin(value, fmt, margin, key)
        self._values[name] = text
        if display:
            from IPython.display import display as show

            show({MIME: str(text)}, raw=True,
                 metadata={"scrapbook": {"name": key, "mime_prefix": "application/papermill.record/"}})

    def below(self, name: str, value, bound: float, *, display: bool = True) -> None:
        """Store ``bound`` as ``name`` after checking that ``value`` is below it.

        For a rounding error, whose last digits differ from CPU to CPU: the prose
        says "below 10⁻¹⁴" (the bound, printed with ``".0e"``), and the check
        that makes it true runs wherever the notebook runs.
        """
        if not (isinstance(bound, numbers.Real) and bound > 0 and math.isfinite(bound)):
            raise ValueError(f"bound: expected a finite positive number, got {bound!r}")
        if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
            value = value.item()
        if not (isinstance(value, numbers.Real) and value < bound):
            raise ValueError(f"{self._prefix}.{name} = {value!r} is not below {bound:g}")
        self.put(name, float(bound), ".0e", margin=0, display=display)

    def __getattr__(self, name: str) -> Text:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{self._prefix}.{name}: nothing was put under this name yet "
                                 f"(run the cell that computes it)") from None

    def __getitem__(self, name: str) -> Text:
        return getattr(self, name)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __repr__(self) -> str:
        return f"Numbers({self._prefix!r}, {len(self._values)} values)"


# ---------------------------------------------------------------- notebooks

def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def records(notebook: dict) -> list[tuple[int, str, str]]:
    """Every record a notebook's code cells display: (cell index, key, text), in order.

    ``notebook`` is the notebook's JSON (a dict, as ``json.load`` or nbformat gives).
    """
    found = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            name = ((out.get("metadata") or {}).get("scrapbook") or {}).get("name")
            if MIME in data and name:
                found.append((index, name, _text(data[MIME])))
    return found


def expressions(markdown: str) -> list[str]:
    """The ``{eval}`` expressions of a Markdown source, in order of appearance."""
    return ROLE.findall(markdown)


def user_expressions(source: str, values: dict[str, str]) -> list[dict]:
    """The ``user_expressions`` metadata jupyterlab-myst reads for one Markdown cell.

    One entry per distinct expression, in order, each holding the stored text as
    a kernel would return it (``text/plain``); a KeyError names a missing value.
    """
    entries, seen = [], set()
    for expr in expressions(source):
        if expr in seen:
            continue
        seen.add(expr)
        if expr not in values:
            raise KeyError(f"{{eval}}`{expr}`: no value was put under this name")
        entries.append({"expression": expr,
                        "result": {"status": "ok", "data": {"text/plain": values[expr]},
                                   "metadata": {}}})
    return entries


def link_prose(notebook: dict) -> list[str]:
    """Store each Markdown cell's ``{eval}`` values in its ``user_expressions`` metadata.

    Returns the problems found, empty when the notebook is consistent: a name put
    twice, an expression with no value, or a value put only *after* the Markdown
    cell that quotes it (JupyterLab's Run All evaluates each Markdown cell in
    order, so it would show an error there). Cells without expressions lose any
    stale ``user_expressions``.
    """
    problems, values, first = [], {}, {}
    for index, key, text in records(notebook):
        if key in values:
            problems.append(f"{key} is put twice (cells {first[key]} and {index})")
        values.setdefault(key, text)
        first.setdefault(key, index)
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        source = _text(cell.get("source"))
        meta = cell.setdefault("metadata", {})
        try:
            entries = user_expressions(source, values)
        except KeyError as err:
            problems.append(f"markdown cell {index}: {err.args[0]}")
            entries = user_expressions(source, {**{e: "?" for e in expressions(source)}, **values})
        for e in entries:
            if first.get(e["expression"], -1) > index:
                problems.append(f"markdown cell {index} quotes {e['expression']}, which is put "
                                f"later, in cell {first[e['expression']]}")
        if entries:
            meta["user_expressions"] = entries
        else:
            meta.pop("user_expressions", None)
    return problems
