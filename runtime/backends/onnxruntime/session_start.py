"""The one place an ONNX Runtime session is created: quiet on stdout, never silently on the CPU.

``ese-embed > vectors.npy`` writes its vectors to stdout, so nothing of ONNX Runtime may land
there. ONNX Runtime's Python layer prints to stdout when a provider fails at session creation
("EP Error ... Falling back to ['CPUExecutionProvider'] and retrying") and again when a run
fails; its C++ logger writes to stderr. So, while a session is created, Python's stdout and
file descriptor 1 both point at stderr; ONNX Runtime's default logger (used before a session
has its own, e.g. while a provider library loads) and the session's logger keep only errors;
and the session's run-time fallback is disabled (``InferenceSession.disable_fallback``), so a
failing run raises instead of re-creating the session on the CPU.

After creation the providers ONNX Runtime really activated are compared with those asked for
(:func:`.providers.check_active`): a GPU provider that did not start is a ``ProviderError``
naming the library that did not load, never CPU timings under a GPU's name.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import onnxruntime as ort

from ese.format.errors import IntegrityError
from ese.runtime.backends.onnxruntime import providers as prov
from ese.runtime.errors import ProviderError

ERRORS_ONLY = 3  # ONNX Runtime's severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal
ProviderList = list[str | tuple[str, dict[str, str]]]
_REDIRECT = threading.Lock()  # file descriptor 1 is one per process


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Python's stdout and file descriptor 1 both write to stderr inside the block.

    Process-wide while it lasts (descriptor 1 is one per process): another thread printing
    during a session's creation prints to stderr too.
    """
    with _REDIRECT:
        if sys.stdout is not None:  # None under pythonw and some embedders
            sys.stdout.flush()
        with contextlib.redirect_stdout(sys.stderr), _descriptor_one_to_two():
            yield


@contextlib.contextmanager
def _descriptor_one_to_two() -> Iterator[None]:
    """File descriptor 1 duplicates descriptor 2 inside the block (C-level prints)."""
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 (a closed stdout): nothing to protect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def start_session(
    path: Path, options: ort.SessionOptions, providers: ProviderList, requested: Sequence[str]
) -> ort.InferenceSession:
    """A session of ``path`` on ``providers``; ``requested`` are their names, in order."""
    options.log_severity_level = max(options.log_severity_level, ERRORS_ONLY)
    ort.set_default_logger_severity(ERRORS_ONLY)
    try:
        with stdout_to_stderr():
            session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped exceptions
        if any(p in str(exc) for p in requested if p != prov.CPU):
            raise ProviderError(
                f"onnxruntime could not start {list(requested)} for {path.name}: {exc}. "
                "Check the GPU libraries, or pass providers=['cpu']"
            ) from exc
        raise IntegrityError(
            f"onnxruntime cannot load {path} ({type(exc).__name__}: {exc}); re-export the model"
        ) from exc
    session.disable_fallback()
    prov.check_active(requested, session.get_providers())
    return session
