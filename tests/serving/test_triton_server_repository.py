"""The generated repository in a real tritonserver: the binary that nvidia-pytriton ships.

That build has only the Python backend, so each graph model's ``platform:
"onnxruntime_onnx"`` is swapped for a Python stand-in that runs the same model.onnx with
ONNX Runtime; everything else is the repository as written: the front model's config, its
model.py with Triton's real ``triton_python_backend_utils`` and BLS, dynamic batching,
instance groups, the graph models' inputs and outputs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient
from pytriton.utils.distribution import get_libs_path, get_root_module_path, get_stub_path
from tritonclient.utils import InferenceServerException

from ese.runtime import Embedder
from ese.serving import repository_from_export

HOST = "127.0.0.1"

STANDIN = '''
"""Stand-in for Triton's onnxruntime backend: the same model.onnx, run by ONNX Runtime."""
import json
from pathlib import Path

import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.inputs = [i["name"] for i in config["input"]]
        path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def execute(self, requests):
        responses = []
        for request in requests:
            get = pb_utils.get_input_tensor_by_name
            feed = {n: get(request, n).as_numpy() for n in self.inputs}
            (out,) = self.session.run(["sentence_embedding"], feed)
            tensor = pb_utils.Tensor("sentence_embedding", out)
            responses.append(pb_utils.InferenceResponse([tensor]))
        return responses
'''


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind((HOST, 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def triton_install(folder: Path) -> Path:
    """The wheel's tritonserver tree with this interpreter's Python-backend stub in place."""
    shutil.copytree(
        get_root_module_path() / "tritonserver",
        folder,
        ignore=shutil.ignore_patterns("python_backend_stubs", "__pycache__"),
    )
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    shutil.copy(get_stub_path(version), folder / "backends/python/triton_python_backend_stub")
    return folder


def with_standins(repo: Path) -> None:
    for config in repo.glob("*_depth_*/config.pbtxt"):
        text = config.read_text().replace('platform: "onnxruntime_onnx"', 'backend: "python"')
        config.write_text(re.sub(r"default_model_filename: .*\n", "", text))
        (config.parent / "1" / "model.py").write_text(STANDIN)


@pytest.fixture(scope="module")
def triton_repo_ports(
    tiny_export: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, int]]:
    root = tmp_path_factory.mktemp("tritonserver")
    server = triton_install(root / "tritonserver")
    repo = root / "repo"
    repository_from_export(tiny_export, repo)
    with_standins(repo)
    http, grpc, metrics = free_ports(3)
    site = sysconfig.get_paths()["purelib"]
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = f"{sysconfig.get_config_var('LIBDIR')}:{get_libs_path()}"
    # The stub's Python finds this environment's numpy, tokenizers and onnxruntime through
    # the first python3 on PATH (as PyTriton arranges it), PYTHONPATH as a second way.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = site
    command = [
        str(server / "bin/tritonserver"),
        f"--model-repository={repo}",
        f"--backend-directory={server / 'backends'}",
        f"--http-address={HOST}",
        f"--grpc-address={HOST}",
        f"--metrics-address={HOST}",
        f"--http-port={http}",
        f"--grpc-port={grpc}",
        f"--metrics-port={metrics}",
        "--exit-timeout-secs=5",
        "--backend-config=python,shm-default-byte-size=4194304",
        "--backend-config=python,shm-growth-byte-size=1048576",
    ]
    log = root / "tritonserver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        client = httpclient.InferenceServerClient(f"{HOST}:{http}")
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"tritonserver did not become ready:\n{log.read_text()[-4000:]}")
            try:
                if client.is_server_ready():
                    break
            except Exception:  # not listening yet
                pass
            time.sleep(0.5)
        client.close()
        yield http, grpc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)


@pytest.fixture(scope="module")
def triton_repo_server(triton_repo_ports: tuple[int, int]) -> int:
    """The HTTP port of the repository's tritonserver."""
    return triton_repo_ports[0]


def infer(port: int, texts: list[bytes]) -> np.ndarray:
    client = httpclient.InferenceServerClient(f"{HOST}:{port}", network_timeout=30.0)
    try:
        data = np.array([[t] for t in texts], dtype=object)
        tensor = httpclient.InferInput("text", list(data.shape), "BYTES")
        tensor.set_data_from_numpy(data)
        return client.infer("ese", [tensor]).as_numpy("embedding")
    finally:
        client.close()


def test_triton_server_runs_the_repository_front_model(triton_repo_server: int, tiny_export):
    texts = ["a man is playing the guitar", "", "two dogs run in the park", "hi"]
    got = infer(triton_repo_server, [t.encode() for t in texts])
    np.testing.assert_allclose(got, Embedder(tiny_export).encode(texts), atol=1e-5)
    client = httpclient.InferenceServerClient(f"{HOST}:{triton_repo_server}")
    try:
        for name in ("ese", "ese_depth_01_fp32", "ese_depth_02_fp32"):
            assert client.is_model_ready(name)
        config = client.get_model_config("ese")
        # the front model routes to the graph the runtime's own choice names
        chosen = Embedder(tiny_export).choice
        want = f"ese_depth_{chosen.depth:02d}_{chosen.precision.value}"
        assert config["parameters"]["graph_model"]["string_value"] == want
    finally:
        client.close()


def test_triton_server_repository_concurrent_requests_and_bad_ones(
    triton_repo_server: int, tiny_export
):
    texts = [f"request {i} from a red car" for i in range(48)]
    want = Embedder(tiny_export).encode(texts)
    got: dict[int, np.ndarray] = {}
    errors: list[str] = []

    def send(i: int) -> None:
        try:
            got[i] = infer(triton_repo_server, [texts[i].encode()])[0]
        except Exception as exc:
            errors.append(f"{i}: {exc}")

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(got) == len(texts)
    np.testing.assert_allclose(np.stack([got[i] for i in range(len(texts))]), want, atol=1e-5)
    with pytest.raises(InferenceServerException, match="UTF-8"):
        infer(triton_repo_server, [b"\xff\xfe"])
    with pytest.raises(InferenceServerException, match="batch-size must be <= 32"):
        infer(triton_repo_server, [b"x"] * 33)
    np.testing.assert_allclose(infer(triton_repo_server, [texts[0].encode()]), want[:1], atol=1e-5)


def test_triton_server_front_model_takes_a_width_per_request_over_http_and_grpc(
    triton_repo_ports: tuple[int, int], tiny_export
):
    import tritonclient.grpc as grpcclient

    http, grpc = triton_repo_ports
    embedder = Embedder(tiny_export)
    texts = ["a man is playing the guitar", "hi"]
    data = np.array([[t.encode()] for t in texts], dtype=object)
    for module, url in ((httpclient, f"{HOST}:{http}"), (grpcclient, f"{HOST}:{grpc}")):
        client = module.InferenceServerClient(url)
        try:
            for width in (1, 5, embedder.max_dims):
                text = module.InferInput("text", list(data.shape), "BYTES")
                text.set_data_from_numpy(data)
                dims = module.InferInput("dims", [len(texts), 1], "INT32")
                dims.set_data_from_numpy(np.full((len(texts), 1), width, dtype=np.int32))
                got = client.infer("ese", [text, dims]).as_numpy("embedding")
                want = embedder.encode(texts, dims=width)
                np.testing.assert_allclose(got, want, atol=1e-6)
            dims = module.InferInput("dims", [len(texts), 1], "INT32")
            dims.set_data_from_numpy(np.full((len(texts), 1), 0, dtype=np.int32))
            with pytest.raises(InferenceServerException, match="input 'dims' is 0"):
                client.infer("ese", [text, dims])
        finally:
            client.close()
