"""Run ``ese-serve`` as a child process: start it on free loopback ports, wait, stop it.

    with ServeProcess("exports/minilm", log=Path("serve.log")) as server:
        client = tritonclient.grpc.InferenceServerClient(server.grpc_url)

For benchmarks and notebooks that want the server in its own process (its Python and the
client's do not share a GIL). Every wait is bounded; a server that does not stop on SIGINT
is killed with its whole process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ese.format.errors import UserError
from ese.serving.local.server import HOST

READY_LINE = "ese-serve: ready"


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((HOST, 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


class ServeProcess:
    """An ``ese-serve`` child process on three free loopback ports."""

    def __init__(
        self,
        export_dir: str | Path,
        args: Sequence[str] = (),
        *,
        log: Path,
        ready_timeout_s: float = 120.0,
        stop_timeout_s: float = 30.0,
    ) -> None:
        self.export_dir = Path(export_dir)
        self.args = list(args)
        self.log = Path(log)
        self.ready_timeout_s = ready_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise UserError("ese-serve has not been started")
        return self.proc.pid

    @property
    def http_url(self) -> str:
        return f"{HOST}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{HOST}:{self.grpc_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self) -> ServeProcess:
        command = [sys.executable, "-m", "ese.serving.serve_cli", str(self.export_dir)]
        command += ["--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port)]
        command += ["--metrics-port", str(self.metrics_port), "--api-port", "0", *self.args]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UserError(
                    f"ese-serve exited with {self.proc.returncode}: {self.output()[-2000:]}"
                )
            if READY_LINE in self.output():
                return self
            time.sleep(0.25)
        self.stop()
        raise UserError(
            f"ese-serve was not ready after {self.ready_timeout_s:.0f} s; log: {self.log}"
        )

    def stop(self) -> int | None:
        """SIGINT, then SIGKILL to the process group after the timeout; the exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(self.stop_timeout_s)
        return proc.returncode

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
