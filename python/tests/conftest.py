"""Shared helpers for our own tests (the original's tests live in original/)."""

import subprocess
import sys
import textwrap
import time


def wait_for(predicate, timeout=2.0, interval=0.005):
    """Poll `predicate` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def run_python(code, timeout=60):
    """Run `code` in a fresh interpreter (for process-wide state such as the
    RtpProc singleton, and for interpreter exit); returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=timeout,
    )
