"""PyTriton's ``Triton`` with no credential on tritonserver's command line and no model control.

PyTriton (0.7) protects Triton's model-repository, shared-memory, statistics, trace and
logging APIs with a generated access token, and passes that token to ``tritonserver`` as a
command-line flag: any local user reads it in ``/proc/<pid>/cmdline``. With it, ``POST
/v2/repository/models/X/load`` and a ``file:1/model.py`` override run code as the server's
user, and ``.../ese/unload`` stops the service. Triton 2.51 takes a restriction's header
only on its command line (there is no file or environment form), so no secret can be kept
there. Instead:

1. ``--model-control-mode none``: Triton loads the models of its (private) repository at
   start and refuses every load and unload afterwards, whatever the request carries.
   PyTriton needs no load call for a local model store, only this mode change.
2. The five APIs are restricted by a header no request can carry: its name holds a colon,
   which ends a header name in HTTP/1.1 and is not allowed in gRPC metadata keys. The
   command line shows it, and that is harmless: knowing it does not let anyone send it.
3. PyTriton gets no token, and its start-up read of the log settings (a warning about
   verbose logs, through the logging API that is now closed) is skipped.

Health, metadata, model configuration and inference stay open, as before.
"""

from __future__ import annotations

from typing import Any

from ese.format.errors import UserError

CLOSED_APIS = ("model-repository", "shared-memory", "statistics", "trace", "logging")
# A header name with a colon: HTTP/1.1 splits a header line at its first colon, and gRPC
# metadata keys are lower-case letters, digits, "-", "_" and "." only.
UNSENDABLE_HEADER = "ese:closed"
CLOSED = f"{','.join(CLOSED_APIS)}:{UNSENDABLE_HEADER}=never"
_FLAGS = {
    "model-control-mode": "none",
    "load-model": None,  # only valid with explicit control; None leaves the flag out
    "http-restricted-api": CLOSED,
    "grpc-restricted-protocol": CLOSED,
}


def close_control_apis(server_config: Any) -> None:
    """Set the flags above in PyTriton's ``TritonServerConfig`` (before tritonserver starts)."""
    if server_config["model-control-mode"] != "explicit":
        raise UserError(
            "this nvidia-pytriton does not start tritonserver with explicit model control: "
            "its control APIs cannot be closed; install the version pyproject.toml names"
        )
    for flag, value in _FLAGS.items():
        server_config[flag] = value


class _NoLogLevelCheck:
    """Stands in for PyTriton's check of Triton's log level (it reads the closed API)."""

    def check(self, skip_update: bool = False) -> None:
        """Nothing to check: ese-serve starts Triton with verbose logging off."""


def locked_triton_class(triton_mod: Any) -> type:
    """``triton_mod.Triton`` (PyTriton's) with the control APIs closed as described above."""

    class LockedTriton(triton_mod.Triton):
        def __init__(self, **kwargs: Any) -> None:
            no_token = triton_mod.TritonSecurityConfig(restricted_endpoints=[])
            super().__init__(security_config=no_token, **kwargs)

        def _prepare_triton_config(self, workspace: Any) -> None:
            super()._prepare_triton_config(workspace)
            close_control_apis(self._triton_server_config)

        def _initialize_server(self) -> None:
            super()._initialize_server()
            self._log_level_checker = _NoLogLevelCheck()

    return LockedTriton
