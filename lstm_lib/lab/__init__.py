"""lstm_lib.lab: training the modules on long-range tasks, and recording the runs.

    tasks        seeded generators of long-range tasks (adding, Experiment 4, copy, order)
    train        a model head, losses, clipping, the training loop, metrics
    progress     the one progress-bar policy (off with LSTM_LIB_NO_PROGRESS)
    experiments  the lab's experiments and their one table of defaults
    analysis     a trained LSTM's gates, read through the numpy reference; gate saturation
    corpus       the frozen corpus of the course's own source as a character-level task
    charlm       a character-level language model: bits per character, sampling
    ngram        the interpolated Kneser-Ney n-gram baseline
    results      results files: command, versions, date, machine; the CLIs' shared rules
    cli          python -m lstm_lib.lab: run an experiment over seeds, write a results file
    bench        python -m lstm_lib.lab.bench: lstm_lib.LSTM against torch.nn.LSTM
    cellbench    python -m lstm_lib.lab.cellbench: the GRU's time per step against the LSTM's

May import: other lab modules and the core (lstm_lib's own modules); never
lstm_lib.chapters or lstm_lib.viz.
"""
