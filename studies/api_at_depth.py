"""The embedding HTTP API of ``ese-serve --no-triton``, pinned to one depth and precision.

    python -m ese.studies.api_at_depth exports/bench-serve --depth 2 --precision int8 --port 8081

``ese-serve`` picks its graph through the budget flags; a benchmark that compares depths needs
each one served as it is, so this runs the same ``ApiServer`` over ``Embedder(depth=...)``
with ``ese-serve``'s CPU layout (workers x intra-op threads) until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ese.runtime import Embedder
from ese.runtime.machine import default_threads
from ese.serving.api.http_server import ApiServer
from ese.serving.api.options import ApiOptions
from ese.serving.local.layout import serving_layout


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.api_at_depth")
    parser.add_argument("export_dir", type=Path, metavar="DIR")
    parser.add_argument("--depth", type=int, required=True)
    parser.add_argument("--precision", default="fp32", help="fp32 or int8")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model-name", default="ese")
    parser.add_argument("--workers", type=int, help="default: ese-serve's (one per CPU)")
    parser.add_argument("--threads", type=int, help="intra-op threads per worker")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-queue-delay-us", type=int, default=1000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    layout = serving_layout(
        default_threads(), on_cpu=True, workers=args.workers, threads=args.threads
    )
    embedder = Embedder(
        args.export_dir,
        precision=args.precision,
        depth=args.depth,
        intra_op_threads=layout.threads,
        measure=False,
    )
    options = ApiOptions(
        api_port=args.port,
        model_name=args.model_name,
        max_batch_size=args.max_batch_size,
        max_queue_delay_us=args.max_queue_delay_us,
        workers=layout.workers,
    )
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with ApiServer(embedder, options) as api:
        c = embedder.choice
        sys.stderr.write(
            f"api_at_depth: ready: depth {c.depth}, {c.dims} dims, {c.precision.value}, "
            f"{layout.workers} worker(s) x {layout.threads} thread(s) on {api.url}\n"
        )
        sys.stderr.flush()
        while not stopping.wait(0.5):
            if not api.is_alive():
                sys.stderr.write("api_at_depth: the API stopped on its own\n")
                return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())
