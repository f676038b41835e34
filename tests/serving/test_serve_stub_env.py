"""The environment ese-serve gives Triton's Python-backend stub (pytriton issue 51)."""

from __future__ import annotations

import os

from ese.serving.local.stub_env import (
    TRANSPORT,
    VARIABLE,
    python_library_dir,
    server_environment,
    with_python_library,
)


def test_serve_stub_gets_this_interpreters_libpython():
    libdir = python_library_dir()
    assert libdir is not None  # this venv's interpreter is a shared-library build
    env = with_python_library({VARIABLE: f"/opt/x:{libdir}"})
    assert env[VARIABLE] == f"{libdir}:/opt/x"
    assert with_python_library(env) == env  # idempotent
    assert with_python_library({})[VARIABLE] == libdir


def test_serve_server_environment_is_set_then_restored(monkeypatch):
    monkeypatch.setenv(VARIABLE, "/opt/x")
    monkeypatch.delenv(TRANSPORT, raising=False)
    with server_environment():
        assert os.environ[VARIABLE].split(os.pathsep)[0] == python_library_dir()
        assert os.environ[TRANSPORT] == "1"
    assert os.environ[VARIABLE] == "/opt/x" and TRANSPORT not in os.environ
    monkeypatch.setenv(TRANSPORT, "")  # the user's choice wins
    with server_environment():
        assert os.environ[TRANSPORT] == ""
