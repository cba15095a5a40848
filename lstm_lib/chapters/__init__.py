"""lstm_lib.chapters: what each chapter measures and explores, one module per chapter.

    vanishing   Chapter 1   why vanilla RNNs forget: gradients by gap, the sigma_max explorer
    memory      Chapter 2   additive and gated memories, the forget-gate explorers
    gates       Chapter 3   one gate at a time, the hand-built latch, the forget bias at init
    assembly    Chapter 4   parameter counts, FLOPs, the gradient at initialisation
    gradients   Chapter 5   the two tracks of the gradient, exploding cases, the 1997 cell
    interpretable  Chapter 7  properties of source positions, the search for interpretable cells
    gru         Chapter 8   its direct road diag(z), the update-gate explorer, the seed tables

    limits      Chapter 9   attention checked, sequential time, the fixed-width bottleneck

May import: the core (lstm_lib's own modules), lstm_lib.lab and lstm_lib.viz.
A chapter never imports another chapter: what two chapters share moves down,
to the core (maths) or to viz (slider grids).
"""
