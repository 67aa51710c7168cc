"""``python -m payments.standin``: serve the stand-in until interrupted."""

import sys

from payments.standin.cli import main

if __name__ == "__main__":
    sys.exit(main())
