"""A real Triton Inference Server (through PyTriton) serving an ese Embedder on loopback.

    with EmbeddingServer(Embedder("exports/minilm"), ServeOptions(http_port=8000)) as server:
        server.wait()          # until stop() (a signal handler) or the server dies

Clients send strings to model ``ese`` (input ``text``, BYTES, shape [batch, 1]) and get
``embedding`` (FP32, [batch, dims]), the same I/O as the repository's front model. Triton's
dynamic batcher merges concurrent requests into one batch, which ``workers`` threads encode
in parts of similar-length texts (see :mod:`ese.serving.local.layout`); Triton itself
answers malformed requests (wrong dtype, empty or oversized batch) with an error, and keeps
serving. A request whose text is not UTF-8, that does not arrive as [batch, 1], that holds
more than ``max_request_bytes`` of text, or that a web page could have sent
(:mod:`ese.serving.local.browser_requests`) fails alone, with INVALID_ARGUMENT (HTTP 400)
and a one-line reason, logged at a bounded rate (:mod:`ese.serving.local.refusal_log`); the
other requests of its batch are answered as usual (:mod:`ese.serving.local.request_errors`).
Triton's queue is bounded and times out. No credential is on tritonserver's command line and
no model can be loaded or unloaded (:mod:`ese.serving.local.locked_triton`). Every socket
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ese.format.errors import UserError
from ese.runtime import Embedder
from ese.serving.errors import BadRequestError
from ese.serving.extra import require
from ese.serving.local.browser_requests import FORWARDED_HEADERS, browser_refusal
from ese.serving.local.locked_triton import locked_triton_class
from ese.serving.local.refusal_log import RefusalLog
from ese.serving.local.request_errors import INVALID_ARG, error_response, install_request_errors
from ese.serving.local.stub_env import server_environment
from ese.serving.triton.batching import preferred_batch_sizes
from ese.serving.triton.model_configs import EMBEDDING_OUTPUT, TEXT_INPUT

HOST = "127.0.0.1"
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    """Ports, model name, batching, Triton instances and encode workers of the local server."""

    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    model_name: str = "ese"
    max_batch_size: int = 32
    max_queue_delay_us: int = 1000
    max_queue_size: int = 128
    queue_timeout_ms: int = 10_000
    max_request_bytes: int = 1 << 20
    preferred_batch_sizes: tuple[int, ...] = ()
    instances: int = 1
    workers: int = 1
    log_file: Path | None = None
    exit_timeout_s: int = 5

    def __post_init__(self) -> None:
        ports = (self.http_port, self.grpc_port, self.metrics_port)
        if len(set(ports)) != 3 or not all(0 < p < 65536 for p in ports):
            raise UserError(
                f"ports http {self.http_port}, grpc {self.grpc_port}, metrics "
                f"{self.metrics_port} must be three different numbers in 1..65535"
            )
        positive = ("max_batch_size", "instances", "workers", "exit_timeout_s")
        bounds = ("max_queue_size", "queue_timeout_ms", "max_request_bytes")
        for name in (*positive, *bounds):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{name}={value!r} must be a whole number >= 1")

    @property
    def urls(self) -> dict[str, str]:
        return {
            "http": f"http://{HOST}:{self.http_port}",
            "grpc": f"{HOST}:{self.grpc_port}",
            "metrics": f"http://{HOST}:{self.metrics_port}/metrics",
        }


def texts_from(column: np.ndarray) -> list[str]:
    """A BYTES input of shape [batch, 1] as str, strictly UTF-8; ``BadRequestError`` if not.

    Triton checks the shape against the model's, but keeps the batch dimension in 32 bits:
    a request declaring ``[2**62, 1]`` with one string arrives as shape ``(1,)``; it is
    refused here, not answered as if it were ``[1, 1]``.
    """
    if column.ndim != 2 or column.shape[1] != 1:
        raise BadRequestError(
            f"input '{TEXT_INPUT}' arrived with shape {list(column.shape)}, not [batch, 1] "
            "(batch sizes of 2**32 and above are misread by Triton); send [batch, 1]"
        )
    texts = []
    for index, item in enumerate(column.reshape(-1)):
        if not isinstance(item, bytes):
            texts.append(str(item))
            continue
        try:
            texts.append(item.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BadRequestError(
                f"input '{TEXT_INPUT}' row {index} is not valid UTF-8 (byte "
                f"0x{item[exc.start]:02x} at offset {exc.start}); send UTF-8 text"
            ) from None
    return texts


def split_by_length(texts: Sequence[str], workers: int) -> list[list[int]]:
    """Row indices in up to ``workers`` parts of similar-length texts, to encode at once.

    Contiguous runs of the length-sorted order: each part pads to its own longest text,
    so short texts do not pay for long ones. A batch of one is one part.
    """
    if not texts:
        return []
    count = max(1, min(workers, len(texts)))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    size = -(-len(order) // count)
    return [order[start : start + size] for start in range(0, len(order), size)]


def request_texts(request: Any) -> list[str]:
    """The texts of one PyTriton request; ``BadRequestError`` if a browser could have sent it
    (its forwarded headers, :mod:`ese.serving.local.browser_requests`) or its input is bad."""
    refusal = browser_refusal(getattr(request, "parameters", None) or {})
    if refusal is not None:
        raise BadRequestError(refusal)
    return texts_from(request[TEXT_INPUT])


class EmbeddingServer:
    """A PyTriton server for one Embedder; a context manager that starts and stops it."""

    def __init__(self, embedder: Embedder, options: ServeOptions | None = None) -> None:
        self.embedder = embedder
        self.options = options or ServeOptions()
        self._triton: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = threading.Event()
        self._refusals = RefusalLog(LOG)

    def infer_requests(self, requests: Sequence[Any]) -> list[dict[str, np.ndarray]]:
        """One dynamic batch of requests, answered per request: a request whose text is
        not UTF-8 gets its own INVALID_ARGUMENT; the others' texts are encoded together."""
        texts: list[list[str]] = []
        refused: dict[int, str] = {}
        for index, request in enumerate(requests):
            try:
                texts.append(request_texts(request))
            except BadRequestError as exc:
                self._refusals.refused(str(exc))
                refused[index] = str(exc)
                texts.append([])
        vectors = self.infer([t for own in texts for t in own])[EMBEDDING_OUTPUT]
        bounds = np.cumsum([0, *(len(own) for own in texts)])
        return [
            error_response(INVALID_ARG, refused[i])
            if i in refused
            else {EMBEDDING_OUTPUT: vectors[bounds[i] : bounds[i + 1]]}
            for i in range(len(texts))
        ]

    def infer(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Texts to [len(texts), dims] unit vectors, in order, encoded by the workers."""
        parts = split_by_length(texts, self.options.workers)
        if len(parts) <= 1 or self._pool is None:
            return {EMBEDDING_OUTPUT: self._encode(texts)}
        futures = [self._pool.submit(self._encode, [texts[i] for i in part]) for part in parts]
        out = np.empty((len(texts), self.embedder.dims), dtype=np.float32)
        for part, future in zip(parts, futures, strict=True):
            out[part] = future.result()
        return {EMBEDDING_OUTPUT: out}

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.embedder.encode(texts, batch_size=max(1, len(texts)))
        return np.asarray(vectors, dtype=np.float32)

    def start(self) -> EmbeddingServer:
        triton_mod = require("pytriton.triton")
        config_mod = require("pytriton.model_config")
        workspace_mod = require("pytriton.utils.workspace")
        o = self.options
        _check_ports_free((o.http_port, o.grpc_port, o.metrics_port))
        config = triton_mod.TritonConfig(
            http_address=HOST,
            http_port=o.http_port,
            grpc_address=HOST,
            grpc_port=o.grpc_port,
            metrics_address=HOST,
            metrics_port=o.metrics_port,
            allow_metrics=True,
            exit_timeout_secs=o.exit_timeout_s,
            log_verbose=0,
            log_file=o.log_file,
            http_header_forward_pattern=FORWARDED_HEADERS,
        )
        # a bounded queue; a request waiting longer than the timeout is refused, not run
        queue_policy = config_mod.QueuePolicy(
            timeout_action=config_mod.TimeoutAction.REJECT,
            default_timeout_microseconds=o.queue_timeout_ms * 1000,
            allow_timeout_override=False,
            max_queue_size=o.max_queue_size,
        )
        batcher = config_mod.DynamicBatcher(
            max_queue_delay_microseconds=o.max_queue_delay_us,
            preferred_batch_size=list(o.preferred_batch_sizes) or None,
            default_queue_policy=queue_policy,
        )
        if o.workers > 1:
            self._pool = ThreadPoolExecutor(o.workers, thread_name_prefix="ese-encode")
        workspace = workspace_mod.Workspace(None)
        # a model store on disk, written at bind, so its model.py can be wrapped before run
        policy = triton_mod.TritonLifecyclePolicy(
            launch_triton_on_startup=True, local_model_store=True
        )
        # no token on tritonserver's command line, no model load/unload once it runs
        triton = locked_triton_class(triton_mod)(
            config=config, workspace=workspace, triton_lifecycle_policy=policy
        )
        self._triton = triton
        try:
            with server_environment():
                triton.bind(
                    model_name=o.model_name,
                    infer_func=[self.infer_requests] * o.instances,
                    inputs=[config_mod.Tensor(name=TEXT_INPUT, dtype=bytes, shape=(1,))],
                    outputs=[
                        config_mod.Tensor(name=EMBEDDING_OUTPUT, dtype=np.float32, shape=(-1,))
                    ],
                    config=config_mod.ModelConfig(max_batch_size=o.max_batch_size, batcher=batcher),
                    # not strict: a refused request's response is the one undeclared tensor
                    # that the wrapped model.py turns into its Triton error
                    strict=False,
                )
                install_request_errors(
                    workspace.model_store_path / o.model_name / "1", o.max_request_bytes
                )
                triton.run()
        except Exception as exc:
            self.stop()
            raise UserError(
                f"the Triton server did not start on {HOST} (http {o.http_port}, grpc "
                f"{o.grpc_port}, metrics {o.metrics_port}): {type(exc).__name__}: {exc}"
            ) from exc
        return self

    def is_alive(self) -> bool:
        return self._triton is not None and bool(self._triton.is_alive())

    def wait(self, poll_s: float = 1.0) -> bool:
        """Block until :meth:`request_stop` or the server dies; True when asked to stop."""
        while not self._stopping.wait(poll_s):
            if not self.is_alive():
                return False
        return True

    def request_stop(self) -> None:
        """Make :meth:`wait` return (safe from a signal handler: it only sets an event)."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop Triton and its stubs, then the encode workers; idempotent."""
        triton, self._triton = self._triton, None
        if triton is not None:
            triton.stop()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> EmbeddingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def this_device_preferred(embedder: Embedder, max_batch_size: int) -> tuple[int, ...]:
    """Preferred batch sizes for the embedder's graph from this device's profile, if any."""
    choice = embedder.choice
    profile = embedder.device_profile()
    if profile is None:
        return ()
    return preferred_batch_sizes(
        profile.entries,
        choice.depth,
        choice.precision,
        max_batch_size=max_batch_size,
        seq_len=choice.budget.seq_len,
    )


def _check_ports_free(ports: Sequence[int]) -> None:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError as exc:
                raise UserError(
                    f"port {port} on {HOST} is taken ({exc.strerror}); choose other ports "
                    "with --http-port / --grpc-port / --metrics-port"
                ) from None
