"""The API's HTTP transport under many connections: every connection is accepted and each
reply's head and body leave at once (no Nagle delay between the two writes)."""

from __future__ import annotations

import gc
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ese.runtime import Embedder
from ese.serving.api.http_server import ApiServer
from ese.serving.api.options import ApiOptions

CLIENTS = 64


@pytest.fixture(scope="module")
def embedder(tiny_export: Path) -> Embedder:
    return Embedder(tiny_export)


@pytest.fixture
def api(embedder: Embedder) -> Iterator[ApiServer]:
    with ApiServer(embedder, ApiOptions(api_port=0)) as server:
        yield server


def _embed(port: int, text: str) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = json.dumps({"input": text}).encode()
        conn.request("POST", "/v1/embeddings", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        embedding: list[float] = json.loads(response.read())["data"][0]["embedding"]
        return embedding
    finally:
        conn.close()


def test_clients_connecting_all_at_once_are_all_answered(api, embedder):
    # socketserver's listen backlog of 5 reset some of 64 connections made at once
    texts = [f"text number {i}" for i in range(CLIENTS)]
    got: dict[int, list[float]] = {}
    failed: list[str] = []
    barrier = threading.Barrier(CLIENTS)

    def client(i: int) -> None:
        try:
            barrier.wait(60)
            got[i] = _embed(api.port, texts[i])
        except Exception as exc:  # collected: the assertion names every one
            failed.append(f"client {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failed == []
    np.testing.assert_allclose(
        np.array([got[i] for i in range(CLIENTS)]), embedder.encode(texts), atol=1e-6
    )


def test_the_server_side_of_a_connection_sends_without_nagle(api):
    client = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
    try:
        client.request("GET", "/health")
        assert client.getresponse().read()
        local = client.sock.getsockname()
        gc.collect()
        server_side = [  # the handler's socket of this keep-alive connection
            s
            for s in gc.get_objects()
            if isinstance(s, socket.socket) and s.fileno() >= 0 and _peer(s) == local
        ]
        assert len(server_side) == 1
        assert server_side[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        client.close()


def _peer(s: socket.socket) -> object:
    try:
        return s.getpeername()
    except OSError:
        return None
