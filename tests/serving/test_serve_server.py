"""ese-serve end to end: a real Triton server (PyTriton) on loopback, driven by tritonclient.

One server for the module (tiny export) answers HTTP and gRPC, 16 concurrent clients and bad
requests; the shutdown and port tests start their own. Every wait is bounded, and every
server is stopped by a finalizer (SIGINT, then SIGKILL of its process group).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from commands import run_python
from tritonclient.utils import InferenceServerException

from ese.runtime import Embedder
from ese.serving.local.refusal_log import PER_WINDOW
from ese.studies.process_table import descendants

HOST = "127.0.0.1"
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def serve_command() -> list[str]:
    script = Path(sys.executable).parent / "ese-serve"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ese.serving.serve_cli"]


def running(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"


@dataclass
class Served:
    """An ese-serve process and its ports."""

    export: Path
    log: Path
    http: int
    grpc: int
    metrics: int
    proc: subprocess.Popen[bytes] = field(init=False)

    def start(self, *extra: str) -> Served:
        command = [*serve_command(), str(self.export), "--http-port", str(self.http)]
        command += ["--grpc-port", str(self.grpc), "--metrics-port", str(self.metrics)]
        command += ["--api-port", "0", *extra]  # any free port: never another server's 8080
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"ese-serve exited with {self.proc.returncode}:\n{self.output()}")
            if "ese-serve: ready" in self.output():
                return
            time.sleep(0.25)
        pytest.fail(f"ese-serve not ready in {READY_TIMEOUT_S:.0f} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT_S)
        return self.proc.returncode


@pytest.fixture(scope="module")
def served(tiny_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("serve") / "ese-serve.log"
    server = Served(tiny_export, log, *free_ports(3)).start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def embedder(tiny_export: Path) -> Embedder:
    return Embedder(tiny_export)


def http_infer(client: httpclient.InferenceServerClient, texts: list[str]) -> np.ndarray:
    data = np.array([[t.encode()] for t in texts], dtype=object)
    tensor = httpclient.InferInput("text", list(data.shape), "BYTES")
    tensor.set_data_from_numpy(data)
    return client.infer("ese", [tensor]).as_numpy("embedding")


def grpc_infer(client: grpcclient.InferenceServerClient, texts: list[str]) -> np.ndarray:
    data = np.array([[t.encode()] for t in texts], dtype=object)
    tensor = grpcclient.InferInput("text", list(data.shape), "BYTES")
    tensor.set_data_from_numpy(data)
    result = client.infer("ese", [tensor], client_timeout=REQUEST_TIMEOUT_S)
    return result.as_numpy("embedding")


def http_client(served: Served) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(
        f"{HOST}:{served.http}", connection_timeout=10.0, network_timeout=REQUEST_TIMEOUT_S
    )


TEXTS = ["a man is playing the guitar", "", "two dogs run in the park", "hi", "red car at night"]


def test_serve_http_and_grpc_vectors_equal_embedder(served: Served, embedder: Embedder):
    want = embedder.encode(TEXTS)
    http = http_client(served)
    grpc = grpcclient.InferenceServerClient(f"{HOST}:{served.grpc}")
    try:
        np.testing.assert_allclose(http_infer(http, TEXTS), want, atol=1e-5)
        np.testing.assert_allclose(grpc_infer(grpc, TEXTS), want, atol=1e-5)
        np.testing.assert_allclose(grpc_infer(grpc, TEXTS[3:4]), want[3:4], atol=1e-5)
    finally:
        http.close()
        grpc.close()


def test_serve_16_concurrent_clients_x_100_requests_none_lost_or_mixed(
    served: Served, embedder: Embedder
):
    clients, per_client = 16, 100
    texts = [[f"client {c} sends request {r}" for r in range(per_client)] for c in range(clients)]
    flat = [t for row in texts for t in row]
    want = embedder.encode(flat).reshape(clients, per_client, -1)
    gaps = np.linalg.norm(want.reshape(len(flat), 1, -1) - want.reshape(1, len(flat), -1), axis=2)
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() > 1e-3  # every text has its own vector: a mix-up could not pass
    got = np.full_like(want, np.nan)
    errors: list[str] = []
    start = threading.Barrier(clients)

    def client(c: int) -> None:
        use_grpc = c % 2 == 1
        conn = (
            grpcclient.InferenceServerClient(f"{HOST}:{served.grpc}")
            if use_grpc
            else http_client(served)
        )
        try:
            start.wait(timeout=30)
            for r in range(per_client):
                infer = grpc_infer if use_grpc else http_infer
                got[c, r] = infer(conn, [texts[c][r]])[0]  # type: ignore[arg-type]
        except Exception as exc:
            errors.append(f"client {c}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()

    before = metric(served, "nv_inference_exec_count")
    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, 150 - (time.monotonic() - began)))
    assert not any(t.is_alive() for t in threads), "clients still waiting after 150 s"
    assert errors == []
    assert not np.isnan(got).any(), "some requests got no answer"
    np.testing.assert_allclose(got, want, atol=1e-5)
    executions = metric(served, "nv_inference_exec_count") - before
    assert executions < clients * per_client  # the dynamic batcher merged requests


def metric(served: Served, name: str) -> float:
    text = urllib.request.urlopen(f"http://{HOST}:{served.metrics}/metrics", timeout=10).read()
    pattern = rf"^{name}{{([^}}]*)}} (\S+)$"
    values = [
        float(value)
        for labels, value in re.findall(pattern, text.decode(), re.MULTILINE)
        if 'model="ese"' in labels
    ]
    assert values, f"{name} for model ese not in the metrics"
    return sum(values)  # summed over other labels (a failure's reason, say)


def test_serve_bad_requests_get_triton_errors_and_serving_goes_on(
    served: Served, embedder: Embedder
):
    http = http_client(served)
    want = embedder.encode(["a cat"])
    cases = {
        "empty batch": (np.zeros((0, 1), dtype=object), "BYTES"),
        "wrong dtype": (np.zeros((2, 1), dtype=np.int64), "INT64"),
        "oversized batch": (np.array([[b"x"]] * 33, dtype=object), "BYTES"),
        "not utf-8": (np.array([[b"\xff\xfe"]], dtype=object), "BYTES"),
    }
    try:
        for case, (data, dtype) in cases.items():
            tensor = httpclient.InferInput("text", list(data.shape), dtype)
            tensor.set_data_from_numpy(data)
            with pytest.raises(InferenceServerException) as info:
                http.infer("ese", [tensor])
            assert info.value.message(), case
            np.testing.assert_allclose(http_infer(http, ["a cat"]), want, atol=1e-5)
        assert "batch-size must be <= 32" in _message(http, cases["oversized batch"])
        assert "expects 'BYTES'" in _message(http, cases["wrong dtype"])
    finally:
        http.close()
    grpc = grpcclient.InferenceServerClient(f"{HOST}:{served.grpc}")
    try:
        tensor = grpcclient.InferInput("text", [2, 1], "FP32")
        tensor.set_data_from_numpy(np.zeros((2, 1), dtype=np.float32))
        with pytest.raises(InferenceServerException, match="BYTES") as info:
            grpc.infer("ese", [tensor], client_timeout=REQUEST_TIMEOUT_S)
        assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
        np.testing.assert_allclose(grpc_infer(grpc, ["a cat"]), want, atol=1e-5)
    finally:
        grpc.close()


def _message(client: httpclient.InferenceServerClient, case: tuple[np.ndarray, str]) -> str:
    data, dtype = case
    tensor = httpclient.InferInput("text", list(data.shape), dtype)
    tensor.set_data_from_numpy(data)
    try:
        client.infer("ese", [tensor])
    except InferenceServerException as exc:
        return str(exc.message())
    return ""


def test_serve_readiness_liveness_metadata_and_metrics(served: Served):
    for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/ese/ready"):
        with urllib.request.urlopen(f"http://{HOST}:{served.http}{path}", timeout=10) as r:
            assert r.status == 200, path
    grpc = grpcclient.InferenceServerClient(f"{HOST}:{served.grpc}")
    try:
        assert grpc.is_server_live() and grpc.is_server_ready() and grpc.is_model_ready("ese")
        meta = grpc.get_model_metadata("ese", as_json=True)
        assert [i["name"] for i in meta["inputs"]] == ["text"]
        assert meta["inputs"][0]["datatype"] == "BYTES"
        assert [o["name"] for o in meta["outputs"]] == ["embedding"]
    finally:
        grpc.close()
    http = http_client(served)
    try:
        http_infer(http, ["count me"])
        config = http.get_model_config("ese")
        assert config["max_batch_size"] == 32 and "dynamic_batching" in config
    finally:
        http.close()
    assert metric(served, "nv_inference_request_success") >= 1
    # a refused request is answered with its own error response, which Triton's metrics
    # do not count as a failed request (the execution succeeded); the log counts them
    assert "refused a request" in served.output()


def test_serve_listens_on_loopback_only(served: Served):
    ports = {served.http, served.grpc, served.metrics}
    listening: dict[int, set[str]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.rsplit(":", 1)
            if state == "0A" and int(port, 16) in ports:
                listening.setdefault(int(port, 16), set()).add(address)
    assert set(listening) == ports
    # 127.0.0.1, or the same address IPv4-mapped on an IPv6 socket (::ffff:127.0.0.1)
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
    assert all(addresses <= loopback for addresses in listening.values()), listening


def test_serve_shutdown_is_clean(tiny_export: Path, tmp_path: Path):
    server = Served(tiny_export, tmp_path / "log", *free_ports(3)).start()
    try:
        server.wait_ready()
        children = descendants(server.proc.pid)
        assert any("tritonserver" in _cmdline(p) for p in children), "no tritonserver child"
        client = http_client(server)
        assert http_infer(client, ["bye"]).shape == (1, 32)
        client.close()
        assert server.stop(signal.SIGTERM) == 0, server.output()
    finally:
        server.stop()
    assert "ese-serve: stopped" in server.output()
    deadline = time.monotonic() + 10
    while any(running(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in children if running(p)], "child processes outlived ese-serve"
    for port in (server.http, server.grpc, server.metrics):
        with socket.socket() as probe:
            probe.bind((HOST, port))  # released


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_serve_taken_port_is_a_clear_error(tiny_export: Path, tmp_path: Path):
    http, grpc, metrics = free_ports(3)
    with socket.socket() as holder:
        holder.bind((HOST, http))
        holder.listen()
        server = Served(tiny_export, tmp_path / "log", http, grpc, metrics).start()
        try:
            server.proc.wait(60)
        finally:
            server.stop()
    assert server.proc.returncode == 2
    assert f"port {http} on {HOST} is taken" in server.output()


def test_serve_import_boundaries():
    """The runtime never imports serving; serving imports PyTriton only to start a server."""
    code = (
        "import sys, ese.runtime\n"
        "assert 'ese.serving' not in sys.modules\n"
        "import ese.serving, ese.serving.local.server, ese.serving.serve_cli\n"
        "heavy = [m for m in ('pytriton', 'tritonclient', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr


def test_serve_one_bad_client_fails_alone_among_good_clients(served: Served, embedder: Embedder):
    """A client sending invalid UTF-8 among good clients fails alone, each time with
    INVALID_ARGUMENT and a one-line reason (no traceback, no path); every good request
    succeeds, and the log's lines for refused requests are rate-limited."""
    good_clients, per_client, bad_requests = 6, 40, 60
    texts = [[f"good client {c} request {r}" for r in range(per_client)] for c in range(6)]
    want = embedder.encode([t for row in texts for t in row]).reshape(6, per_client, -1)
    got = np.full_like(want, np.nan)
    failures: list[str] = []
    refusals: list[tuple[str, str]] = []
    start = threading.Barrier(good_clients + 1)
    refused_before = served.output().count("refused a request")

    def good(c: int) -> None:
        conn = grpcclient.InferenceServerClient(f"{HOST}:{served.grpc}") if c % 2 else None
        http = None if conn else http_client(served)
        try:
            start.wait(timeout=30)
            for r in range(per_client):
                row = grpc_infer(conn, [texts[c][r]]) if conn else http_infer(http, [texts[c][r]])
                got[c, r] = row[0]
        except Exception as exc:
            failures.append(f"good client {c}: {type(exc).__name__}: {exc}")
        finally:
            (conn or http).close()  # type: ignore[union-attr]

    def bad() -> None:
        conn = grpcclient.InferenceServerClient(f"{HOST}:{served.grpc}")
        data = np.array([[b"caf\xe9 au lait"]], dtype=object)
        tensor = grpcclient.InferInput("text", [1, 1], "BYTES")
        tensor.set_data_from_numpy(data)
        try:
            start.wait(timeout=30)
            for _ in range(bad_requests):
                try:
                    conn.infer("ese", [tensor], client_timeout=REQUEST_TIMEOUT_S)
                    refusals.append(("answered", ""))
                except InferenceServerException as exc:
                    refusals.append((str(exc.status()), str(exc.message())))
        finally:
            conn.close()

    threads = [threading.Thread(target=good, args=(c,), daemon=True) for c in range(6)]
    threads.append(threading.Thread(target=bad, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=150)
    assert not any(t.is_alive() for t in threads), "clients still waiting after 150 s"
    assert failures == []
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert len(refusals) == bad_requests
    for status, message in refusals:
        assert status == "StatusCode.INVALID_ARGUMENT", (status, message)
        assert "row 0 is not valid UTF-8 (byte 0xe9 at offset 3)" in message, message
        assert "\n" not in message and "Traceback" not in message and ".py" not in message
    log = served.output()
    # logged one by one up to PER_WINDOW a window (a window may end during the test)
    assert log.count("refused a request") - refused_before <= 2 * PER_WINDOW < bad_requests
    assert "Traceback" not in log
    http = http_client(served)  # over HTTP: 400
    try:
        tensor = httpclient.InferInput("text", [2, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[b"ok"], [b"\xff"]], dtype=object))
        with pytest.raises(InferenceServerException, match="row 1 is not valid UTF-8") as info:
            http.infer("ese", [tensor])
        assert info.value.status() == "400"
    finally:
        http.close()


def _as_nobody() -> None:
    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)


def _read_as_nobody(path: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["cat", path], capture_output=True, preexec_fn=_as_nobody, timeout=30, check=False
    )


def _restriction_headers(args: list[str]) -> list[tuple[str, str]]:
    """Every header a restriction flag on the command line names, with its value."""
    flags = ("--http-restricted-api", "--grpc-restricted-protocol")
    joined = tuple(f"{flag}=" for flag in flags)
    values = [value for flag, value in itertools.pairwise(args) if flag in flags]
    values += [arg.split("=", 1)[1] for arg in args if arg.startswith(joined)]
    return [tuple(value.split(":", 1)[1].rsplit("=", 1)) for value in values]  # type: ignore[misc]


def _raw_post(port: int, path: str, body: bytes, header: tuple[str, str] | None) -> int:
    """POST as a hostile client would: the header line written as is; the HTTP status."""
    headers = [("Content-Type", "application/json"), *([header] if header else [])]
    return _raw_request(port, path, body, headers)[0]


def _raw_request(
    port: int, path: str, body: bytes, headers: list[tuple[str, str]], *, read: bool = True
) -> tuple[int, bytes]:
    """POST with exactly these header lines; the status and the whole reply (unless not
    ``read``: the connection is closed at once, as a client that gives up)."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n{lines}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((HOST, port), timeout=REQUEST_TIMEOUT_S) as conn:
        conn.sendall(head.encode() + body)
        if not read:
            return 0, b""
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1]), reply


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to the nobody user needs root")
def test_serve_other_users_cannot_load_or_unload_models(
    served: Served, embedder: Embedder, tmp_path: Path
):
    """What another local user can read of tritonserver (its command line; not its
    environment) grants no model control: a load with a model.py override and an unload of
    ``ese``, with no header and with every header the command line names, are refused;
    the override never runs and ``ese`` keeps serving."""
    children = descendants(served.proc.pid)
    (triton,) = [p for p in children if _cmdline(p).split(" ")[0].endswith("/tritonserver")]
    cmdline = _read_as_nobody(f"/proc/{triton}/cmdline")
    assert cmdline.returncode == 0, cmdline.stderr
    assert _read_as_nobody(f"/proc/{triton}/environ").returncode != 0  # private to its user
    args = [a.decode() for a in cmdline.stdout.split(b"\0") if a]
    assert any("tritonserver" in a for a in args[:1]), args
    marker = tmp_path / "override-ran"
    model_py = (
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "class TritonPythonModel:\n    def execute(self, requests):\n        return []\n"
    )
    config = {
        "backend": "python",
        "max_batch_size": 0,
        "input": [{"name": "IN", "data_type": "TYPE_FP32", "dims": [1]}],
        "output": [{"name": "OUT", "data_type": "TYPE_FP32", "dims": [1]}],
    }
    load = json.dumps(
        {
            "parameters": {
                "config": json.dumps(config),
                "file:1/model.py": base64.b64encode(model_py.encode()).decode(),
            }
        }
    ).encode()
    for header in [None, *_restriction_headers(args)]:
        status = _raw_post(served.http, "/v2/repository/models/ese/unload", b"{}", header)
        assert status >= 400, (header, status)
        status = _raw_post(served.http, "/v2/repository/models/intruder/load", load, header)
        assert status >= 400 and not marker.exists(), (header, status)
    grpc = grpcclient.InferenceServerClient(f"{HOST}:{served.grpc}")
    try:  # over gRPC Triton names the header triton-grpc-protocol-<name>
        for header in [None, *_restriction_headers(args)]:
            metadata = {f"triton-grpc-protocol-{header[0]}": header[1]} if header else None
            with pytest.raises(InferenceServerException):
                grpc.unload_model("ese", headers=metadata)
    finally:
        grpc.close()
    assert not marker.exists()
    http = http_client(served)
    try:
        assert http.is_model_ready("ese")
        np.testing.assert_allclose(
            http_infer(http, ["still here"]), embedder.encode(["still here"]), atol=1e-5
        )
    finally:
        http.close()


def _infer_body(shape: list[int], texts: list[str]) -> bytes:
    tensor = {"name": "text", "shape": shape, "datatype": "BYTES", "data": texts}
    return json.dumps({"inputs": [tensor]}).encode()


def test_serve_queue_is_bounded_and_large_requests_are_refused(served: Served, embedder: Embedder):
    """The served model's queue is bounded and times out (Triton's own config, read back);
    requests above --max-request-bytes (default 1 MiB of text) are refused with 400, those
    sent and abandoned included, and a small request is answered afterwards."""
    http = http_client(served)
    try:
        policy = http.get_model_config("ese")["dynamic_batching"].get("default_queue_policy", {})
        assert policy.get("timeout_action") == "REJECT", policy
        assert int(policy.get("default_timeout_microseconds", 0)) == 10_000_000
        assert int(policy.get("max_queue_size", 0)) == 128
        assert policy.get("allow_timeout_override") is False
        big = "x" * ((1 << 20) + 1)
        for _ in range(5):  # sent, then the client leaves without reading the answer
            _raw_request(
                served.http, "/v2/models/ese/infer", _infer_body([1, 1], [big]), [], read=False
            )
        with pytest.raises(InferenceServerException, match="--max-request-bytes") as info:
            http_infer(http, [big])
        assert info.value.status() == "400"
        assert "1048577 bytes of text" in str(info.value.message())
        np.testing.assert_allclose(
            http_infer(http, ["small"]), embedder.encode(["small"]), atol=1e-5
        )
    finally:
        http.close()


def test_serve_refuses_browser_requests_and_misread_shapes(served: Served, embedder: Embedder):
    """A request a web page could make a browser send (an Origin header, or a text/plain or
    form content type) is refused with 400, as is a batch dimension Triton misreads
    ([2**62, 1] arrives as [1]); malformed JSON is refused (Triton answers it with 500);
    no answer carries a CORS header; a program's JSON request is answered."""
    infer = "/v2/models/ese/infer"
    body = _infer_body([1, 1], ["hi"])
    json_type = ("Content-Type", "application/json")
    origin = ("Origin", "http://page.example")
    refused = {
        "text/plain from a page": [("Content-Type", "text/plain"), origin],
        "form": [("Content-Type", "application/x-www-form-urlencoded")],
        "multipart": [("Content-Type", "multipart/form-data; boundary=x")],
        "json from a page": [json_type, origin],
    }
    for case, headers in refused.items():
        status, reply = _raw_request(served.http, infer, body, headers)
        assert status == 400, (case, reply)
        assert b"access-control-allow" not in reply.lower(), case
    status, reply = _raw_request(served.http, infer, _infer_body([2**62, 1], ["hi"]), [json_type])
    assert status == 400 and b"not [batch, 1]" in reply, reply
    status, reply = _raw_request(served.http, infer, b'{"inputs": [', [json_type])
    assert status >= 400, reply
    for headers in ([json_type], [("Content-Type", "application/json; charset=utf-8")], []):
        status, reply = _raw_request(served.http, infer, body, headers)
        assert status == 200, (headers, reply)
        vector = json.loads(reply.split(b"\r\n\r\n", 1)[1])["outputs"][0]["data"]
        np.testing.assert_allclose([vector], embedder.encode(["hi"]), atol=1e-5)
