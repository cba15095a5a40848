"""lstm_lib.viz.grids: the slider grids that several chapters' explorers share."""
import math

from lstm_lib.viz import grids
from lstm_lib.viz.explorer import MIN_VALUES, Control


def test_forget_grid_keeps_near_one_and_holds_sigma_of_one():
    g = grids.FORGET_GRID
    assert g[0] == 0.5 and g[-1] == 1.0 and list(g) == sorted(set(g))
    assert 0.73 in g and {0.99, 0.999} <= set(g)                 # sigma(1), and fine steps near 1
    assert round(1 / (1 + math.exp(-1)), 2) == 0.73
    assert Control("f", "f", g).values == g                      # a valid slider: >= 20 values


def test_gate_grid_runs_from_erase_to_keep():
    g = grids.GATE_GRID
    assert g == tuple(round(0.05 * k, 2) for k in range(21)) and len(g) >= MIN_VALUES
    assert g[0] == 0.0 and g[-1] == 1.0
