"""``python -m lstm_lib.lab``: the lab's command line (see :mod:`lstm_lib.lab.cli`)."""
import sys

from .cli import main

sys.exit(main())
