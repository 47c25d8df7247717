"""`python -m tinygrad_rnn <command>`: see `tinygrad_rnn.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
