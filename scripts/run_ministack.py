"""Starts the ministack emulator without two waits it adds to every warm Lambda invocation.

Both are the emulator's, not the functions': AWS has neither, and `bench/lambda_bench.py`'s own
Runtime API has neither. docs/performance.md ("Where the saga's time goes") has the measurements.

1. Nagle's algorithm on the Runtime API's sockets. ministack serves a `provided.*` function's
   Runtime API with `http.server`, which writes an event's headers and its body in two writes.
   With Nagle's algorithm on (the standard library's default for
   `socketserver.StreamRequestHandler`), the body waits for the ACK of the headers, which the
   function's runtime (hyper) delays by up to ~40 ms. `disable_nagle_algorithm` is the standard
   library's switch for it (TCP_NODELAY on each accepted connection); set on the base class
   before ministack starts, it covers every handler class ministack derives from it.
2. The wait for a first log line. After each warm invocation ministack collects the function's
   output for its log stream, and when the function printed nothing it waits 50 ms for a first
   line before giving up: every API request that logs nothing paid it. A function writes its
   lines before it posts its answer, so by then they are in the pipe, and ministack's reader
   thread only has to get the interpreter lock to queue them: 20 ms leaves it a margin under
   load. A line later still is not lost: it stays queued and goes out with the environment's
   next invocation.

ministack is pinned (infra/requirements.lock); the checks below fail its start, loudly, if a new
version moves what this adjusts.
"""

import inspect
import socketserver
import sys

socketserver.StreamRequestHandler.disable_nagle_algorithm = True

from ministack.app import main  # noqa: E402  (after the switch, so every server sees it)
from ministack.core.lambda_runtime import Worker  # noqa: E402

FIRST_LINE_WAIT_S = 0.02

_drain = Worker._drain_stderr_bounded
if "first_line_wait" not in inspect.signature(_drain).parameters:
    sys.exit("run_ministack.py: ministack's Worker._drain_stderr_bounded changed; review this file")


def _drain_stderr_bounded(self, first_line_wait=FIRST_LINE_WAIT_S, *args, **kwargs):
    return _drain(self, first_line_wait, *args, **kwargs)


Worker._drain_stderr_bounded = _drain_stderr_bounded

if __name__ == "__main__":
    sys.exit(main())
