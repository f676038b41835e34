"""The console scripts' entry: signal handling first, then the command's imports.

A console script imports its ``module:main`` before ``main`` runs, and the commands' modules
import numpy, onnxruntime, tokenizers (and torch): seconds in which Ctrl-C printed a traceback
and SIGTERM killed the process with exit 143. Each entry here installs SIGINT and SIGTERM
handlers that end the start-up with the console runner's one line, "PROG: interrupted
(SIGINT)", and exit 130 (nothing was written yet, so there is nothing to roll back), and only
then imports the command's module and runs its ``main``; the console runner
(:mod:`ese.console.runner`) takes the signals over while the command runs. An ignored
SIGINT (``nohup``, ``&``) stays ignored.

This module imports the standard library only (and ``ese.console``'s own ``__init__`` loads
nothing), so that the handlers are in place within milliseconds of the interpreter's start.
The commands' modules are named as strings: the console imports no package above it.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

INTERRUPTED = 130

# console script -> the module whose main() runs it
COMMANDS = {
    "ese-export": "ese.exporter.cli",
    "ese-embed": "ese.runtime.cli.embed",
    "ese-train": "ese.training.cli",
    "ese-bench": "ese.benchmarks.cli",
    "ese-variants": "ese.exporter.variants.cli",
    "ese-engines": "ese.engines.cli",
    "ese-triton": "ese.serving.triton_cli",
    "ese-serve": "ese.serving.serve_cli",
}


def command_main(command: str) -> Callable[[Sequence[str] | None], int]:
    """``command``'s ``main`` (its module imported now: an ``ImportError`` names what is
    missing), for a command that runs another on its output (``ese-export --triton``): each
    reports its own errors, and neither package imports the other."""
    main: Callable[[Sequence[str] | None], int] = importlib.import_module(COMMANDS[command]).main
    return main


def launch(command: str, argv: Sequence[str] | None = None) -> int:
    """Install the start-up signal handlers, import ``command``'s module, run its ``main``
    (on ``argv``, default ``sys.argv[1:]``); the handlers found are restored afterwards."""
    previous = _exit_on_signal(command)
    try:
        return int(command_main(command)(argv))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _exit_on_signal(prog: str) -> dict[signal.Signals, Any]:
    """SIGINT and SIGTERM end the start-up at once; returns the handlers they replaced."""

    def interrupted(signum: int, frame: FrameType | None) -> None:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        os.write(2, f"{prog}: interrupted ({name}) while starting\n".encode())
        os._exit(INTERRUPTED)

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous  # only the main thread may set handlers (a test calling main)
    for signum in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(signum)
        if signum == signal.SIGINT and current == signal.SIG_IGN:
            continue  # nohup, `&`: an ignored Ctrl-C stays ignored
        previous[signum] = current if current is not None else signal.SIG_DFL
        signal.signal(signum, interrupted)
    return previous


def _entry(command: str) -> Callable[[Sequence[str] | None], int]:
    """The function a console script calls (``sys.exit(ese_embed())``)."""

    def run(argv: Sequence[str] | None = None) -> int:
        return launch(command, argv)

    run.__name__ = run.__qualname__ = command.replace("-", "_")
    return run


ese_export = _entry("ese-export")
ese_embed = _entry("ese-embed")
ese_train = _entry("ese-train")
ese_bench = _entry("ese-bench")
ese_variants = _entry("ese-variants")
ese_engines = _entry("ese-engines")
ese_triton = _entry("ese-triton")
ese_serve = _entry("ese-serve")
