"""`python -m client`: the command line (see client.cli)."""
import sys

from .cli import main

sys.exit(main())
