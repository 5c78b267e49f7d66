"""Children that a test interrupts with SIGINT, as Ctrl-C would: a process started in the background by a
non-interactive shell (`make test &`, CI runners, nohup) ignores SIGINT and passes that on to its children, and
Python then installs no KeyboardInterrupt handler, so the child would never see the test's Ctrl-C."""
from __future__ import annotations

import signal


def default_sigint() -> None:
    """preexec_fn for subprocess.Popen: SIGINT back to its default, so Python turns it into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
