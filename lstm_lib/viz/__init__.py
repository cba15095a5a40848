"""lstm_lib.viz: how the course shows things.

    explorer   slider explorers: one pure function of the slider values, a live
               ipywidgets view for Jupyter and a kernel-free view for the website
               (its JavaScript and CSS are the files in static/)
    grids      slider grids that several chapters' explorers share
    plotting   one matplotlib style, a colour-blind-safe palette, show_source
    scene      small vector drawings: one list of items, drawn as SVG and with matplotlib
    diagram    the LSTM cell drawn by code: the clickable cell (inline SVG, kernel-free;
               its JavaScript and CSS are static/cell.js and cell.css), still figures with
               a path highlighted (previews, the stepper's five views) and the stepper
    unrolled   the tanh RNN unrolled in time and its backward product of Jacobians (Chapter 1)
    text       text coloured by a value per character (Chapter 7), inline HTML

May import: other viz modules, numpy, matplotlib, ipywidgets and IPython;
nothing else of lstm_lib. What is drawn comes in as arguments.
"""
