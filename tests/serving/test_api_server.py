"""The embedding HTTP API against real clients: the OpenAI SDK and raw HTTP, on a real server
(``ApiServer`` on a free loopback port) over a real export; every vector must equal
``Embedder.encode(texts, dims=k)``."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest

from ese.runtime import Embedder
from ese.serving.api.http_server import ApiServer
from ese.serving.api.options import ApiOptions

TEXTS = ["a man is playing the guitar", "two people sit in the park", "hi", "a cat on a mat"]
LONG = "the quick brown fox jumps over the lazy dog " * 40  # past the tiny model's max length
MAX_ITEMS = 8
MAX_BYTES = 8192


@pytest.fixture(scope="module")
def embedder(tiny_export: Path) -> Embedder:
    return Embedder(tiny_export)


@pytest.fixture(scope="module")
def api(embedder: Embedder) -> Iterator[ApiServer]:
    options = ApiOptions(
        api_port=0, model_name="tiny", api_max_items=MAX_ITEMS, api_max_request_bytes=MAX_BYTES
    )
    with ApiServer(embedder, options) as server:
        yield server


def post(
    api: ApiServer, path: str, body: bytes | dict[str, Any], content_type: str = "application/json"
) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
    try:
        connection.request("POST", path, raw, {"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def get(api: ApiServer, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def openai_client(api: ApiServer) -> Any:
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_openai_sdk_gets_the_runtimes_vectors_at_the_asked_width(api, embedder, encoding):
    dims = embedder.max_dims // 2
    result = openai_client(api).embeddings.create(
        model="tiny", input=TEXTS, dimensions=dims, encoding_format=encoding
    )
    if encoding == "base64":  # asked for by name, the SDK hands the string through unchanged
        got = np.stack([np.frombuffer(base64.b64decode(d.embedding), "<f4") for d in result.data])
    else:
        got = np.array([d.embedding for d in result.data], dtype=np.float32)
    np.testing.assert_allclose(got, embedder.encode(TEXTS, dims=dims), atol=1e-6)
    assert [d.index for d in result.data] == list(range(len(TEXTS)))
    assert result.model == "tiny"
    tokens = sum(len(e.ids) for e in embedder.tokenizer.encode(TEXTS)[0])
    assert result.usage.prompt_tokens == result.usage.total_tokens == tokens


def test_openai_default_width_is_the_chosen_one_and_a_string_is_one_input(api, embedder):
    result = openai_client(api).embeddings.create(model="tiny", input="a dog")
    assert len(result.data) == 1
    want = embedder.encode(["a dog"])
    np.testing.assert_allclose([result.data[0].embedding], want, atol=1e-6)


def test_openai_truncates_a_long_text_as_the_runtime_does(api, embedder):
    result = openai_client(api).embeddings.create(model="tiny", input=[LONG])
    with pytest.warns(UserWarning):
        want = embedder.encode([LONG])
    np.testing.assert_allclose([result.data[0].embedding], want, atol=1e-6)


def test_openai_models_lists_the_served_model_and_its_widths(api, embedder):
    models = openai_client(api).models.list()
    (model,) = models.data
    assert model.id == "tiny"
    assert model.model_extra["dimensions"] == embedder.dims
    assert model.model_extra["max_dimensions"] == embedder.max_dims


@pytest.mark.parametrize("normalize", [True, False])
def test_tei_embed_gives_the_prefix_normalised_or_raw(api, embedder, normalize):
    dims = 5
    body = {"inputs": TEXTS, "dimensions": dims, "normalize": normalize}
    status, vectors = post(api, "/embed", body)
    assert status == 200
    want = embedder.encode(TEXTS, dims=dims, normalize_embeddings=normalize)
    np.testing.assert_allclose(np.array(vectors, dtype=np.float32), want, atol=1e-6)
    if not normalize:
        assert not np.allclose(np.linalg.norm(want, axis=1), 1.0, atol=1e-3)


def test_tei_embed_a_single_string_at_the_default_width(api, embedder):
    status, vectors = post(api, "/embed", {"inputs": "a dog"})
    assert status == 200 and len(vectors) == 1
    np.testing.assert_allclose(vectors, embedder.encode(["a dog"]), atol=1e-6)


def test_tei_refuses_a_long_text_unless_asked_to_truncate(api, embedder):
    status, error = post(api, "/embed", {"inputs": ["hi", LONG]})
    assert status == 413 and error["error_type"] == "Validation"
    assert "input 1 is longer than the model's" in error["error"] and "truncate" in error["error"]
    status, vectors = post(api, "/embed", {"inputs": ["hi", LONG], "truncate": True})
    assert status == 200
    with pytest.warns(UserWarning):
        want = embedder.encode(["hi", LONG])
    np.testing.assert_allclose(vectors, want, atol=1e-6)


def test_health_and_metrics(api):
    post(api, "/embed", {"inputs": ["a", "b"]})
    post(api, "/embed", {"inputs": []})
    status, health = get(api, "/health")
    assert status == 200 and json.loads(health) == {"status": "ok"}
    status, metrics = get(api, "/metrics")
    assert status == 200
    lines = metrics.splitlines()
    assert any(line.startswith('ese_api_requests_total{route="/embed"} ') for line in lines)
    assert any(line.startswith('ese_api_errors_total{kind="empty_input"} ') for line in lines)
    for histogram in ("batch_size", "queue_seconds", "encode_seconds"):
        count = next(line for line in lines if line.startswith(f"ese_api_{histogram}_count "))
        assert int(count.split()[1]) >= 1


WIDE = 10_000
BAD_OPENAI = [
    ({"model": "tiny", "input": []}, 400, "empty_input", "'input' is an empty list"),
    ({"model": "tiny", "input": ["a", ""]}, 400, "empty_input", "'input[1]' is an empty string"),
    ({"model": "tiny", "input": ["a", 7]}, 400, "bad_item", "'input[1]' is a number (7)"),
    ({"model": "tiny", "input": {"a": 1}}, 400, "bad_field", "'input' is an object"),
    ({"model": "tiny"}, 400, "empty_input", "'input' is missing"),
    ({"input": "a", "dimensions": 0}, 400, "bad_dimensions", "'dimensions' is 0"),
    ({"input": "a", "dimensions": WIDE}, 400, "bad_dimensions", f"'dimensions' is {WIDE}"),
    ({"input": "a", "dimensions": "8"}, 400, "bad_dimensions", "'dimensions' is '8'"),
    ({"input": "a", "dimensions": True}, 400, "bad_dimensions", "'dimensions' is True"),
    ({"input": "a", "encoding_format": "int8"}, 400, "bad_field", "'encoding_format' is 'int8'"),
    ({"input": ["a"] * (MAX_ITEMS + 1)}, 413, "too_many_items", f"at most {MAX_ITEMS} per"),
    ({"input": "a" * MAX_BYTES}, 413, "request_too_large", f"at most {MAX_BYTES} per request"),
    ({"input": "a", "model": "gpt"}, 404, "model_not_found", "model 'gpt' is not served here"),
]


@pytest.mark.parametrize(("body", "status", "code", "message"), BAD_OPENAI)
def test_openai_refusals_have_their_status_shape_and_reason(api, body, status, code, message):
    got_status, payload = post(api, "/v1/embeddings", body)
    assert got_status == status
    error = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and message in error["message"], error
    assert error["type"] == "invalid_request_error"
    assert "\n" not in error["message"] and "Traceback" not in error["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "message"),
    [
        (b'{"input": ["a",', "application/json", 400, "malformed_json", "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "malformed_json", "a JSON list, not an object"),
        (b"\xff\xfe", "application/json", 400, "malformed_json", "not UTF-8"),
        (b"[" * 8000, "application/json", 400, "malformed_json", "nests too deep"),
        (b"input=a", "application/x-www-form-urlencoded", 415, "unsupported_media_type", "send"),
        (b'{"input": "a"}', "text/plain", 415, "unsupported_media_type", "application/json"),
    ],
)
def test_openai_refuses_bodies_that_are_not_json_objects(
    api, body, content_type, status, code, message
):
    got_status, payload = post(api, "/v1/embeddings", body, content_type)
    assert got_status == status
    assert payload["error"]["code"] == code and message in payload["error"]["message"]


def test_openai_sdk_raises_the_servers_reason(api):
    with pytest.raises(openai.BadRequestError, match=r"'dimensions' is 0: this model serves 1\.\."):
        openai_client(api).embeddings.create(model="tiny", input=["a"], dimensions=0)


BAD_TEI = [
    ({"inputs": []}, 422, "Empty", "'inputs' is an empty list"),
    ({"inputs": ["a", None]}, 422, "Validation", "'inputs[1]' is null, not a string"),
    ({"inputs": "a", "dimensions": -3}, 422, "Validation", "'dimensions' is -3"),
    ({"inputs": "a", "normalize": "yes"}, 422, "Validation", "'normalize' is 'yes'"),
    ({"inputs": ["a"] * (MAX_ITEMS + 1)}, 413, "Validation", f"at most {MAX_ITEMS} per"),
]


@pytest.mark.parametrize(("body", "status", "error_type", "message"), BAD_TEI)
def test_tei_refusals_have_their_status_shape_and_reason(api, body, status, error_type, message):
    got_status, payload = post(api, "/embed", body)
    assert got_status == status
    assert set(payload) == {"error", "error_type"}
    assert payload["error_type"] == error_type and message in payload["error"], payload


def test_unknown_routes_and_methods_are_refused_in_the_paths_shape(api):
    status, body = get(api, "/v1/nothing")
    assert status == 404 and "no route '/v1/nothing'" in json.loads(body)["error"]["message"]
    status, body = get(api, "/embed")
    assert status == 405 and json.loads(body)["error"] == "/embed takes POST, not GET"


def test_a_failing_encode_is_a_500_without_a_traceback(tiny_export):
    closed = Embedder(tiny_export)
    with ApiServer(closed, ApiOptions(api_port=0)) as server:
        closed.close()  # every encode now raises ClosedError inside the batcher
        status, payload = post(server, "/v1/embeddings", {"input": "a"})
        assert status == 500
        assert payload["error"]["type"] == "server_error"
        assert payload["error"]["message"] == (
            "the server failed to encode this request; see its log"
        )
        status, payload = post(server, "/v1/embeddings", {"input": []})
        assert status == 400  # and the server goes on answering


def test_concurrent_clients_each_get_their_own_width_while_bad_ones_are_refused(api, embedder):
    widths = [1, 3, embedder.dims, embedder.max_dims]
    want = {k: embedder.encode(TEXTS, dims=k) for k in widths}
    failures: list[str] = []

    def good(dims: int, rounds: int) -> None:
        for r in range(rounds):
            texts = TEXTS[r % len(TEXTS) :] + TEXTS[: r % len(TEXTS)]
            status, vectors = post(api, "/embed", {"inputs": texts, "dimensions": dims})
            rows = [TEXTS.index(t) for t in texts]
            if status != 200 or not np.allclose(vectors, want[dims][rows], atol=1e-6):
                failures.append(f"dims {dims} round {r}: {status}")

    def bad(rounds: int) -> None:
        for _ in range(rounds):
            status, _ = post(api, "/v1/embeddings", b"{not json")
            if status != 400:
                failures.append(f"bad request got {status}")

    def sdk(dims: int, rounds: int) -> None:
        client = openai_client(api)
        for r in range(rounds):
            result = client.embeddings.create(model="tiny", input=TEXTS, dimensions=dims)
            got = np.array([d.embedding for d in result.data], dtype=np.float32)
            if not np.allclose(got, want[dims], atol=1e-6):
                failures.append(f"sdk dims {dims} round {r}")

    threads = [threading.Thread(target=good, args=(k, 12)) for k in widths]
    threads += [threading.Thread(target=sdk, args=(k, 12)) for k in widths[:2]]
    threads += [threading.Thread(target=bad, args=(12,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_openai_sdk_on_minilm_at_128_of_384_dimensions(minilm_export, encoding):
    embedder = Embedder(minilm_export)
    assert embedder.max_dims == 384
    with ApiServer(embedder, ApiOptions(api_port=0)) as server:
        result = openai_client(server).embeddings.create(
            model="ese", input=TEXTS, dimensions=128, encoding_format=encoding
        )
    if encoding == "base64":
        got = np.stack([np.frombuffer(base64.b64decode(d.embedding), "<f4") for d in result.data])
    else:
        got = np.array([d.embedding for d in result.data], dtype=np.float32)
    assert got.shape == (len(TEXTS), 128)
    np.testing.assert_allclose(got, embedder.encode(TEXTS, dims=128), atol=1e-6)


def test_a_budgets_width_bound_is_the_widest_a_request_may_ask_for(tiny_export):
    from ese.runtime import Budget

    capped = Embedder(tiny_export, budget=Budget(max_dims=8))
    with ApiServer(capped, ApiOptions(api_port=0)) as server:
        status, error = post(server, "/embed", {"inputs": "a", "dimensions": 9})
        assert status == 422 and "this model serves 1..8 dimensions" in error["error"]
        status, vectors = post(server, "/embed", {"inputs": "a", "dimensions": 8})
    assert status == 200
    np.testing.assert_allclose(vectors, capped.encode(["a"], dims=8), atol=1e-6)
