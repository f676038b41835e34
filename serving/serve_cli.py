"""ese-serve: a real Triton Inference Server here, through PyTriton, serving an ese export,
and beside it an embedding HTTP API (OpenAI ``/v1/embeddings``, TEI ``/embed``).

    ese-serve exports/minilm --max-dims 128 --http-port 8000 --grpc-port 8001 --api-port 8080
    ese-serve exports/minilm --no-triton --api-port 8080     # the HTTP API alone, no PyTriton

Triton's HTTP, gRPC and metrics listen on 127.0.0.1 only; the API on 127.0.0.1 unless
``--api-host`` says otherwise. Model ``ese`` takes ``text`` (BYTES, [batch, 1]) and returns
``embedding`` (FP32, [batch, dims]). SIGINT or SIGTERM stops the servers and their child
processes. The only place in this module that prints and exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from ese.console import (
    ArgumentParser,
    add_export_dir_argument,
    options_from_args,
    positive_int,
    providers_arg,
    run_console,
)
from ese.console.errors import ServiceStoppedError
from ese.format.errors import BadInputError
from ese.runtime import Embedder
from ese.runtime.backends.providers import CPU
from ese.runtime.backends.providers import resolve as resolve_providers
from ese.runtime.machine import default_threads
from ese.serving.api.flags import add_api_flags
from ese.serving.api.http_server import ApiServer
from ese.serving.api.options import LOOPBACK, ApiOptions
from ese.serving.batching_flags import add_batching_flags
from ese.serving.budget_args import add_budget_arguments, budget_from, precisions_from
from ese.serving.errors import ServeExtraError
from ese.serving.local.layout import serving_layout
from ese.serving.local.server import HOST, EmbeddingServer, ServeOptions, this_device_preferred


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="ese-serve",
        description=f"Serve an ese export with a local Triton Inference Server on {HOST} "
        "(HTTP, gRPC, metrics), with dynamic batching, and an embedding HTTP API (OpenAI "
        "/v1/embeddings, TEI /embed, /health, /metrics); the graph and width are the ones "
        "that fit the budget, as with ese-embed.",
    )
    add_export_dir_argument(parser)
    server = parser.add_argument_group("server")
    server.add_argument(
        "--http-port", "--port", type=positive_int, default=8000, help="default 8000"
    )
    server.add_argument("--grpc-port", type=positive_int, default=8001, help="default 8001")
    server.add_argument("--metrics-port", type=positive_int, default=8002, help="default 8002")
    server.add_argument("--model-name", default="ese", help="Triton model name (ese)")
    add_batching_flags(server)
    server.add_argument(
        "--instances", type=positive_int, default=1, help="Triton model instances (1)"
    )
    server.add_argument(
        "--max-queue-size",
        type=positive_int,
        default=128,
        help="requests waiting at most; more are refused at once (128)",
    )
    server.add_argument(
        "--queue-timeout-ms",
        type=positive_int,
        default=10_000,
        help="a request still waiting after this long is refused, not run (10000)",
    )
    server.add_argument(
        "--max-request-bytes",
        type=positive_int,
        default=1 << 20,
        help="text bytes one request may hold; larger requests are refused (1048576)",
    )
    server.add_argument("--triton-log", type=Path, help="write Triton's own log to this file")
    run = parser.add_argument_group("running")
    run.add_argument(
        "--providers",
        type=providers_arg,
        default="auto",
        help="auto, or e.g. cuda,cpu (default auto)",
    )
    run.add_argument(
        "--workers",
        type=positive_int,
        help="parts of each batch encoded at once (default on CPU: one per CPU, up to 4)",
    )
    run.add_argument(
        "--threads",
        type=positive_int,
        help="intra-op CPU threads per worker (default: CPUs/workers)",
    )
    run.add_argument("--no-measure", action="store_true", help="fail instead of measuring")
    add_api_flags(parser)
    add_budget_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    providers = args.providers
    on_cpu = resolve_providers(providers)[0] == CPU
    layout = serving_layout(
        default_threads(), on_cpu=on_cpu, workers=args.workers, threads=args.threads
    )
    api_options = None
    if not args.no_api:
        api_options = options_from_args(ApiOptions, args, workers=layout.workers)
        taken = (args.http_port, args.grpc_port, args.metrics_port)
        if not args.no_triton and api_options.api_port in taken:
            raise BadInputError(
                f"--api-port {api_options.api_port} is one of Triton's ports {taken}; choose "
                "another"
            )
    embedder = Embedder(
        args.export_dir,
        budget=budget_from(args),
        precision=precisions_from(args),
        providers=providers,
        intra_op_threads=layout.threads,
        measure=not args.no_measure,
    )
    server = None if args.no_triton else _triton_server(embedder, args, layout.workers)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with ExitStack() as running:
        where = []
        if server is not None:
            _start(server)
            running.callback(server.stop)
            urls = server.options.urls
            where.append(f"http {urls['http']}, grpc {urls['grpc']}, metrics {urls['metrics']}")
        api = None
        if api_options is not None:
            api = running.enter_context(ApiServer(embedder, api_options))
            where.append(f"api {api.url} (/v1/embeddings, /embed, /health, /metrics)")
            if api_options.api_host != LOOPBACK:
                sys.stderr.write(
                    f"ese-serve: warning: the API listens on {api_options.api_host}, beyond this "
                    "machine, and has no authentication: put it behind a proxy that has\n"
                )
        c = embedder.choice
        sys.stderr.write(
            f"ese-serve: ready: model {args.model_name!r} (depth {c.depth}, {c.dims} dims, "
            f"{c.precision.value}, {c.provider or 'cpu'}, {layout.workers} worker(s) x "
            f"{embedder.threads.intra_op or 'default'} thread(s)) on {', '.join(where)}\n"
        )
        sys.stderr.flush()
        died = _wait(stopping, server, api)
    if died:
        raise ServiceStoppedError(
            f"the {died} stopped on its own (see the log above, or pass --triton-log FILE)"
        )
    sys.stderr.write("ese-serve: stopped\n")
    return 0


def _triton_server(embedder: Embedder, args: argparse.Namespace, workers: int) -> EmbeddingServer:
    options = options_from_args(
        ServeOptions,
        args,
        preferred_batch_sizes=this_device_preferred(embedder, args.max_batch_size),
        workers=workers,
        log_file=args.triton_log,
    )
    return EmbeddingServer(embedder, options)


def _start(server: EmbeddingServer) -> None:
    """Start the Triton server; without the serve extra, the error names --no-triton."""
    try:
        server.start()
    except ServeExtraError as exc:
        raise ServeExtraError(f"{exc}; or pass --no-triton to serve the HTTP API alone") from exc


def _wait(stopping: threading.Event, server: EmbeddingServer | None, api: ApiServer | None) -> str:
    """Block until a signal (``""``) or a server dies (its name)."""
    while not stopping.wait(1.0):
        if server is not None and not server.is_alive():
            return "Triton server"
        if api is not None and not api.is_alive():
            return "embedding API"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="ese-serve: %(name)s: %(message)s")
    return run_console(_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
