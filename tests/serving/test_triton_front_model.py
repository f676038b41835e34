"""The repository's front model (Python backend, BLS) run against a stand-in for Triton.

Triton's ``triton_python_backend_utils`` exists only inside Triton's stub, and PyTriton's
server ships only the Python backend, so the BLS call is served here by ONNX Runtime on the
repository's own model.onnx: the front model's tokenising, batching, routing, slicing and
normalising are what is tested, and its vectors must equal ``Embedder.encode``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc

from ese.runtime import Embedder
from ese.serving.triton.repository import RepositoryOptions, repository_from_export


class Tensor:
    def __init__(self, name: str, array: Any) -> None:
        self._name, self._array = name, np.asarray(array)

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array


class TritonError:
    def __init__(self, message: str) -> None:
        self._message = message

    def message(self) -> str:
        return self._message


class InferenceResponse:
    def __init__(self, output_tensors: list[Tensor], error: TritonError | None = None) -> None:
        self.tensors, self._error = output_tensors, error

    def has_error(self) -> bool:
        return self._error is not None

    def error(self) -> TritonError | None:
        return self._error


class Request:
    def __init__(self, texts: list[bytes]) -> None:
        self.tensors = [Tensor("text", np.array([[t] for t in texts], dtype=object))]


def fake_pb_utils(repo: Path, calls: list[tuple[str, tuple[int, ...]]]) -> types.ModuleType:
    module = types.ModuleType("triton_python_backend_utils")
    sessions: dict[str, ort.InferenceSession] = {}

    class InferenceRequest:
        def __init__(self, model_name, requested_output_names, inputs, preferred_memory=None):
            self.model_name, self.outputs, self.inputs = model_name, requested_output_names, inputs

        def exec(self) -> InferenceResponse:
            if self.model_name not in sessions:
                path = repo / self.model_name / "1" / "model.onnx"
                sessions[self.model_name] = ort.InferenceSession(str(path))
            feed = {t.name(): t.as_numpy() for t in self.inputs}
            calls.append((self.model_name, feed["input_ids"].shape))
            (out,) = sessions[self.model_name].run(self.outputs, feed)
            return InferenceResponse([Tensor(self.outputs[0], out)])

    def get_tensor(holder: Any, name: str) -> Tensor | None:
        return next((t for t in holder.tensors if t.name() == name), None)

    module.Tensor = Tensor
    module.TritonError = TritonError
    module.InferenceResponse = InferenceResponse
    module.InferenceRequest = InferenceRequest
    module.PreferredMemory = lambda kind, device: (kind, device)
    module.TRITONSERVER_MEMORY_CPU = 0
    module.get_input_tensor_by_name = get_tensor
    module.get_output_tensor_by_name = get_tensor
    return module


def load_front(repo: Path, name: str, monkeypatch: pytest.MonkeyPatch, calls: list) -> Any:
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", fake_pb_utils(repo, calls))
    spec = importlib.util.spec_from_file_location(f"front_{id(calls)}", repo / name / "1/model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = text_format.Parse((repo / name / "config.pbtxt").read_text(), mc.ModelConfig())
    as_json = json.dumps(json_format.MessageToDict(config, preserving_proto_field_name=True))
    model = module.TritonPythonModel()
    model.initialize(
        {"model_config": as_json, "model_repository": str(repo / name), "model_version": "1"}
    )
    return model


TEXTS = [
    "a man is playing the guitar",
    "",
    "the quick brown fox jumps over the lazy dog " * 8,  # longer than max length: truncated
    "two people sit in the park",
    "hi",
]


def test_triton_front_model_matches_embedder(tiny_export, tmp_path, monkeypatch):
    repository_from_export(tiny_export, tmp_path / "repo")
    calls: list = []
    model = load_front(tmp_path / "repo", "ese", monkeypatch, calls)
    requests = [Request([t.encode() for t in TEXTS[:2]]), Request([t.encode() for t in TEXTS[2:]])]
    responses = model.execute(requests)
    assert len(responses) == 2 and not any(r.has_error() for r in responses)
    got = np.concatenate([r.tensors[0].as_numpy() for r in responses])
    with pytest.warns(UserWarning):  # the truncated text
        embedder = Embedder(tiny_export)
        want = embedder.encode(TEXTS)
    np.testing.assert_allclose(got, want, atol=1e-5)
    chosen = f"ese_depth_{embedder.depth:02d}_fp32"
    assert [c[0] for c in calls] == [chosen]  # both requests in one BLS call


def test_triton_front_model_routes_to_the_budget_depth_and_width(
    tiny_export, tmp_path, monkeypatch
):
    from ese.runtime import Budget

    options = RepositoryOptions(budget=Budget(max_dims=8), precisions=None)
    repository_from_export(tiny_export, tmp_path / "repo", options)
    calls: list = []
    model = load_front(tmp_path / "repo", "ese", monkeypatch, calls)
    (response,) = model.execute([Request([b"a dog"])])
    vector = response.tensors[0].as_numpy()
    assert vector.shape == (1, 8)
    np.testing.assert_allclose(np.linalg.norm(vector, axis=1), 1.0, rtol=1e-5)
    want = Embedder(tiny_export, budget=Budget(max_dims=8)).encode(["a dog"])
    np.testing.assert_allclose(vector, want, atol=1e-5)


def test_triton_front_model_fails_a_bad_request_alone(tiny_export, tmp_path, monkeypatch):
    repository_from_export(tiny_export, tmp_path / "repo")
    model = load_front(tmp_path / "repo", "ese", monkeypatch, [])
    good, bad = Request([b"a cat"]), Request([b"\xff\xfe not utf-8"])
    responses = model.execute([good, bad, good])
    assert [r.has_error() for r in responses] == [False, True, False]
    assert "UTF-8" in responses[1].error().message()


def test_triton_front_model_tokenises_a_huge_text_as_the_runtime_does(
    tiny_export, tmp_path, monkeypatch
):
    # Past char_limit (8192 characters here) the first prefix holds only spaces: the words
    # count only when the text is tokenised whole, as the runtime's token_arrays does.
    text = " " * 20_000 + "a man is playing the guitar"
    repository_from_export(tiny_export, tmp_path / "repo")
    model = load_front(tmp_path / "repo", "ese", monkeypatch, [])
    (response,) = model.execute([Request([text.encode()])])
    want = Embedder(tiny_export).encode([text])
    np.testing.assert_allclose(response.tensors[0].as_numpy(), want, atol=1e-5)
    assert not np.allclose(want, Embedder(tiny_export).encode([""]), atol=1e-3)


def with_dims(request: Request, *widths: int) -> Request:
    """The request with the optional INT32 ``dims`` input, one row per text."""
    request.tensors.append(Tensor("dims", np.array([[w] for w in widths], dtype=np.int32)))
    return request


def test_triton_front_model_serves_each_requests_width_in_one_graph_run(
    tiny_export, tmp_path, monkeypatch
):
    repository_from_export(tiny_export, tmp_path / "repo")
    calls: list = []
    model = load_front(tmp_path / "repo", "ese", monkeypatch, calls)
    embedder = Embedder(tiny_export)
    texts = ["a man is playing the guitar", "two people sit in the park", "hi"]
    widths = [3, None, embedder.max_dims]
    requests = [Request([t.encode()]) for t in texts]
    for request, width in zip(requests, widths, strict=True):
        if width is not None:
            with_dims(request, width)
    responses = model.execute(requests)
    assert not any(r.has_error() for r in responses)
    assert len(calls) == 1  # one BLS call for the three widths
    for text, width, response in zip(texts, widths, responses, strict=True):
        got = response.tensors[0].as_numpy()
        want = embedder.encode([text], dims=width)  # None: the configured default width
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_triton_front_model_refuses_a_bad_width_alone(tiny_export, tmp_path, monkeypatch):
    from ese.runtime import Budget

    options = RepositoryOptions(budget=Budget(max_dims=8), precisions=None)
    repository_from_export(tiny_export, tmp_path / "repo", options)
    model = load_front(tmp_path / "repo", "ese", monkeypatch, [])
    good = with_dims(Request([b"a cat"]), 8)
    responses = model.execute(
        [
            with_dims(Request([b"a cat"]), 0),
            good,
            with_dims(Request([b"a cat"]), 9),  # past the budget's 8 though the graph has 32
            with_dims(Request([b"a", b"b"]), 2, 4),
        ]
    )
    assert [r.has_error() for r in responses] == [True, False, True, True]
    assert "input 'dims' is 0: this model serves 1..8 dimensions" in responses[0].error().message()
    assert "input 'dims' is 9: this model serves 1..8" in responses[2].error().message()
    assert "send one width, the same in every row" in responses[3].error().message()
    want = Embedder(tiny_export, budget=Budget(max_dims=8)).encode(["a cat"])
    np.testing.assert_allclose(responses[1].tensors[0].as_numpy(), want, atol=1e-6)
