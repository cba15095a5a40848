"""Slider grids that several chapters' explorers share.

A grid used by more than one chapter is named here, so that the chapters
agree on it openly instead of one chapter borrowing another's.
"""

#: Forget-gate values for a "keep" slider: 0.50 to 1.00, finer near 1,
#: including sigma(1) = 0.73 (the forget bias of 1 of Chapters 3 and 4).
FORGET_GRID = (0.50, 0.55, 0.60, 0.65, 0.70, 0.73, 0.75, 0.80, 0.85, 0.88, 0.90,
               0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 1.00)

#: Gate values for an "erase" slider: 0.00 (erase) to 1.00 (keep) in steps of 0.05.
GATE_GRID = tuple(round(0.05 * k, 2) for k in range(21))
