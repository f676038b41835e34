"""The one runner of every ``ese-*`` console script: parse, run, turn the outcome into an exit.

One table of exit codes for every command (``EXIT_CODES``):

    0    done
    2    the user can fix it: any ``UserError``, or a bad command line (unknown flag, bad value)
         or the environment's ``OSError`` (full disk, quota, read-only, permission denied)
    69   a service the command runs (ese-serve's Triton server) stopped without being asked
    70   our bug: an ``InternalError`` or any unexpected exception (a Rust panic in tokenizers
         or safetensors, a ``BaseException``, included), printed as one line
         "PROG: internal error (please report it): ..."; the traceback only under ``--debug``
         or ``ESE_DEBUG=1``
    130  interrupted: SIGINT (Ctrl-C) or SIGTERM (timeout, systemd, docker stop, CI cancel)

SIGTERM is raised in the main thread as ``Terminated``, a ``KeyboardInterrupt``, so every
``finally`` and staged-directory rollback runs exactly as for Ctrl-C; the previous handlers are
restored afterwards. A signal is also recorded: Python drops an exception raised while it runs
a callback of its own (a weakref callback inside importlib's module locks, a ``__del__``), so a
staged directory asks ``raise_if_interrupted`` before it commits, and a command that returns
after a signal still exits 130. The offline environment (no Hugging Face downloads) is set
here, once. This module is the only place that prints an error and chooses an exit code.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from types import FrameType
from typing import Any, NoReturn

from ese.console.environment_errors import as_os_error, storage_error
from ese.console.errors import ServiceStoppedError
from ese.format.errors import BadInputError, InternalError, UserError

DEBUG_FLAG = "--debug"
DEBUG_ENV = "ESE_DEBUG"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

Command = Callable[[argparse.Namespace], int]


class ExitCode(IntEnum):
    OK = 0
    USER_ERROR = 2
    SERVICE_STOPPED = 69
    INTERNAL_ERROR = 70
    INTERRUPTED = 130


# (what was raised, exit code, how the one line starts); the first row that matches wins.
EXIT_CODES: tuple[tuple[type[BaseException], ExitCode, str], ...] = (
    (KeyboardInterrupt, ExitCode.INTERRUPTED, "interrupted"),
    (UserError, ExitCode.USER_ERROR, "error"),
    (ServiceStoppedError, ExitCode.SERVICE_STOPPED, "error"),
    (InternalError, ExitCode.INTERNAL_ERROR, "internal error (please report it)"),
    (Exception, ExitCode.INTERNAL_ERROR, "internal error (please report it)"),
    # A Rust panic in tokenizers or safetensors is pyo3's PanicException, a BaseException.
    (BaseException, ExitCode.INTERNAL_ERROR, "internal error (please report it)"),
)
# Not translated, re-raised: a library's SystemExit, a closing generator's GeneratorExit.
NOT_TRANSLATED: tuple[type[BaseException], ...] = (SystemExit, GeneratorExit)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds exactly like Ctrl-C."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose command-line errors are a ``BadInputError`` (exit 2, one line, no usage)."""

    def error(self, message: str) -> NoReturn:
        raise BadInputError(f"{message} (see {self.prog} --help)")


_received: list[int] = []  # the signals that arrived during this run, in order


def raise_if_interrupted() -> None:
    """Raise the interrupt again if a signal arrived during this run (see the module's note)."""
    if _received:
        _raise_interrupt(_received[-1])


def run_console(
    parser: argparse.ArgumentParser,
    command: Command,
    argv: Sequence[str] | None = None,
    *,
    interrupted: str = "",
) -> int:
    """Parse ``argv``, run ``command(args)`` and return its exit code, or the table's.

    ``interrupted`` is said after "interrupted" (e.g. "nothing was written").
    """
    prog = parser.prog
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_asked(args_list)
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    _add_debug_flag(parser)
    try:
        with _signals_raise():
            try:
                args = parser.parse_args(args_list)
            except SystemExit as exc:  # --help / --version
                return exc.code if isinstance(exc.code, int) else ExitCode.OK
            with _environment_errors_as_user_errors():
                code = int(command(args))
            raise_if_interrupted()  # the signal's exception was dropped: say so all the same
            return code
    except BrokenPipeError:
        _silence_stdout()  # the reader stopped reading (`| head`): nothing is wrong
        return ExitCode.OK
    except BaseException as exc:
        row = _row_for(exc)
        if row is None:
            raise  # SystemExit from a library, GeneratorExit: not ours to translate
        _, code, label = row
        sys.stderr.write(f"{prog}: {label}{_detail(exc, code, interrupted, debug)}\n")
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.flush()
        return code


def _row_for(exc: BaseException) -> tuple[type[BaseException], ExitCode, str] | None:
    if isinstance(exc, NOT_TRANSLATED):
        return None
    return next((row for row in EXIT_CODES if isinstance(exc, row[0])), None)


def _detail(exc: BaseException, code: ExitCode, interrupted: str, debug: bool) -> str:
    """The rest of the one line: the message, with newlines folded."""
    if code is ExitCode.INTERRUPTED:
        how = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        return f" ({how})" + (f"; {interrupted}" if interrupted else "")
    message = " ".join(str(exc).split())
    if code is ExitCode.INTERNAL_ERROR:
        named = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        hint = "" if debug else f" (run again with {DEBUG_FLAG} or {DEBUG_ENV}=1 for the traceback)"
        return f": {named}{hint}"
    return f": {message}"


def _debug_asked(argv: Sequence[str]) -> bool:
    before_dashes = argv[: argv.index("--")] if "--" in argv else argv
    env = os.environ.get(DEBUG_ENV, "").strip().lower()
    return DEBUG_FLAG in before_dashes or env not in ("", "0", "false", "no")


def _add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """``--debug`` on the parser and on each subcommand's (read before parsing, see above)."""
    for each in _parsers(parser):
        if DEBUG_FLAG not in each._option_string_actions:
            each.add_argument(
                DEBUG_FLAG,
                action="store_true",
                default=argparse.SUPPRESS,
                help=f"on an internal error, print the traceback (also: {DEBUG_ENV}=1)",
            )


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action.choices, dict):
            for sub in action.choices.values():
                if isinstance(sub, argparse.ArgumentParser):
                    yield from _parsers(sub)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    _raise_interrupt(signum)


def _raise_interrupt(signum: int) -> None:
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


@contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise in the main thread; an ignored SIGINT (nohup, ``&``) stays so."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(signum)
        if signum == signal.SIGINT and current == signal.SIG_IGN:
            continue
        previous[signum] = current
        signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


# --- Signals held back while a commit (the last renames of an output) runs -------------------


@contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive in the block are delivered as usual when it ends.

    For the few renames that must all happen or none (an output swapped into place, files and
    the manifest listing them). Outside the main thread, where handlers cannot be set, it does
    nothing. SIGKILL cannot be held back: the next run repairs what it leaves.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(signum)
        if current is None or current == signal.SIG_IGN:
            continue
        previous[signum] = current
        signal.signal(signum, lambda received, _frame: arrived.append(received))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for received in dict.fromkeys(arrived):
            signal.raise_signal(received)


# --- The environment's OS errors (full disk, read-only, ...) are the user's: exit 2 ------------


@contextmanager
def _environment_errors_as_user_errors() -> Iterator[None]:
    """Run a command, then flush stdout inside the run (``> /dev/full`` fails there); an
    ``OSError`` of the user's environment (``storage_error``) becomes a one-line exit 2."""
    try:
        yield
    except Exception as exc:
        _raise_if_storage_error(exc, None)
        raise
    try:
        sys.stdout.flush()
    except OSError as exc:
        _raise_if_storage_error(exc, "standard output")
        raise


def _raise_if_storage_error(raised: Exception, target: str | None) -> None:
    exc = as_os_error(raised)
    if exc is None or storage_error(exc) is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _silence_stdout()  # or the interpreter's own flush at exit fails again
        if not (exc.filename or exc.filename2):
            target = "standard output"  # a print() failed: stdout still cannot be written
    error = storage_error(exc, target)
    if error is not None:
        raise error from raised
