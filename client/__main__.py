"""`python -m client`: the command line (see client.cli)."""
from .cli import entry

entry()
