"""lstm_lib.viz: how the course shows things.

    explorer   slider explorers: one pure function of the slider values, a live
               ipywidgets view for Jupyter and a kernel-free view for the website
               (its JavaScript and CSS are the files in static/)
    grids      slider grids that several chapters' explorers share
    plotting   one matplotlib style, a colour-blind-safe palette, show_source
    diagram    the LSTM cell drawn by code (Chapter 3) and its stepper
    text       text coloured by a value per character (Chapter 7), inline HTML

May import: other viz modules, numpy, matplotlib, ipywidgets and IPython;
nothing else of lstm_lib. What is drawn comes in as arguments.
"""
