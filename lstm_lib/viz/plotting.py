"""One plotting style for the whole course, and a way to show library source.

The palette is Okabe and Ito's colour-blind-safe set. Lines also differ by
style and marker, so a figure reads in grey scale too. Figures have a white
background so that they stay legible in the website's dark mode.
"""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

import matplotlib

# Okabe-Ito: black, orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
           "#56B4E9", "#000000", "#F0E442"]
LINESTYLES = ["solid", "dashed", "dotted", "dashdot",
              (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)), (0, (3, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def style(k: int) -> dict:
    """Colour, line style and marker of the k-th line of a figure."""
    k = int(k) % len(PALETTE)
    return {"color": PALETTE[k], "linestyle": LINESTYLES[k], "marker": MARKERS[k]}


def use_style() -> None:
    """Apply the course's matplotlib style (call once in a chapter's first cell)."""
    from cycler import cycler

    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 3.6),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "axes.facecolor": "white",
        "axes.edgecolor": "#333333",
        "axes.grid": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=PALETTE[:7]) + cycler(linestyle=LINESTYLES[:7]),
        "lines.linewidth": 1.8,
        "lines.markersize": 4.5,
        "font.size": 10,
        "legend.frameon": False,
        "svg.hashsalt": "lstm-course",
        "figure.constrained_layout.use": True,
    })


def source_markdown(obj) -> str:
    """The real source of a function, class or method as a Markdown code block.

    The heading names the file, from its top-level package down (for example
    ``lstm_lib/chapters/memory.py``), and the line numbers, so readers can find it.
    """
    obj = inspect.unwrap(obj)          # a decorated function: show the code written, not the wrapper
    src = inspect.getsource(obj)
    file = Path(inspect.getsourcefile(obj)).resolve()
    lines, start = inspect.getsourcelines(obj)
    top = sys.modules[obj.__module__.split(".")[0]]
    root = Path(top.__file__).resolve().parent.parent if hasattr(top, "__path__") else file.parent
    rel = file.relative_to(root)
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", "object"))
    head = f"`{name}`, from `{rel.as_posix()}` (lines {start}–{start + len(lines) - 1}):"
    return f"{head}\n\n```python\n{src.rstrip()}\n```\n"


def show_source(obj) -> None:
    """Display the real source of ``obj`` (a function, class or method).

    Rendered as Markdown, so the website highlights it with the theme's
    colours and JupyterLab shows it as a code block.
    """
    from IPython.display import Markdown, display

    display(Markdown(source_markdown(obj)))
