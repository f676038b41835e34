"""Throughput of the local Triton server: 16 concurrent batch-1 clients vs one sequential one.

    python -m ese.studies.serve_throughput exports/minilm [--clients 16] [--requests 100]

Starts ``ese-serve`` in its own process on free loopback ports, warms it up, then times
(1) one client sending batch-1 requests one after another, and (2) ``--clients`` clients
doing the same at once, so Triton's dynamic batcher can merge their requests. Reports
requests per second, p50/p99 latency per request, and the ratio (2)/(1). The baseline is
timed in the same run, on the same server. Prints markdown; ``--out`` also writes it.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ese.serving.extra import require
from ese.serving.local.process import ServeProcess
from ese.studies.process_table import descendants, process_table
from ese.studies.report_output import print_and_write

STSB_DEV = Path(__file__).resolve().parent.parent.parent / "shared/data/stsb/sts-dev.csv"
WARMUP_REQUESTS = 20
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Run:
    """One timed phase: how many requests, wall time, and each request's latency."""

    name: str
    clients: int
    requests: int
    wall_s: float
    latencies_ms: np.ndarray
    server_cpu_s: float
    load: float

    @property
    def throughput(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests

    def row(self) -> str:
        p50, p99 = np.percentile(self.latencies_ms, [50, 99])
        return (
            f"| {self.name} | {self.clients} | {self.requests} | {self.wall_s:.2f} | "
            f"{self.throughput:.1f} | {p50:.2f} | {p99:.2f} | "
            f"{self.cpu_ms_per_request:.2f} | {self.load:.1f} |"
        )


def cpu_saving(sequential: Run, concurrent: Run) -> str:
    """How much less server CPU a concurrent request costs, where both runs were measurable."""
    if sequential.server_cpu_s <= 0 or concurrent.server_cpu_s <= 0:
        tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
        return f"not comparable (a run took under the {tick_ms:.0f} ms clock tick: run longer)"
    return f"{sequential.cpu_ms_per_request / concurrent.cpu_ms_per_request:.2f}x lower"


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants (Linux /proc)."""
    table = process_table()
    return sum(table[p].cpu_s for p in {pid} | descendants(pid, table) if p in table)


def load_texts(path: Path | None) -> list[str]:
    """Sentences to send: a file (one per line), else STS-B dev sentences, else synthetic."""
    if path is not None:
        return [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
    if STSB_DEV.is_file():
        with STSB_DEV.open(encoding="utf-8", newline="") as f:
            rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            return [s for row in rows if len(row) >= 7 for s in row[5:7]][:2000]
    return [f"sentence number {i} about a dog running in the park" for i in range(2000)]


def make_client(protocol: str, url: str) -> tuple[Callable[[str], np.ndarray], Callable[[], None]]:
    """An infer-one-text function and a closer, over gRPC or HTTP."""
    module = require(f"tritonclient.{protocol}")
    client = module.InferenceServerClient(url)

    def infer(text: str) -> np.ndarray:
        data = np.array([[text.encode("utf-8")]], dtype=object)
        tensor = module.InferInput("text", [1, 1], "BYTES")
        tensor.set_data_from_numpy(data)
        if protocol == "grpc":
            result = client.infer("ese", [tensor], client_timeout=TIMEOUT_S)
        else:
            result = client.infer("ese", [tensor])
        return result.as_numpy("embedding")

    return infer, client.close


def timed_run(
    name: str,
    clients: int,
    per_client: int,
    texts: Sequence[str],
    protocol: str,
    url: str,
    server_pid: int,
) -> Run:
    latencies = np.zeros((clients, per_client))
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def worker(c: int) -> None:
        infer, close = make_client(protocol, url)
        try:
            for r in range(WARMUP_REQUESTS // clients + 1):
                infer(texts[(c + r) % len(texts)])
            barrier.wait(timeout=TIMEOUT_S)
            for r in range(per_client):
                start = time.perf_counter()
                infer(texts[(c * per_client + r) % len(texts)])
                latencies[c, r] = (time.perf_counter() - start) * 1000
        except Exception as exc:
            errors.append(f"client {c}: {type(exc).__name__}: {exc}")
            barrier.abort()
        finally:
            close()

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    barrier.wait(timeout=TIMEOUT_S * 4)
    began, cpu_before = time.perf_counter(), process_tree_cpu_s(server_pid)
    for t in threads:
        t.join(timeout=TIMEOUT_S * per_client)
    wall = time.perf_counter() - began
    server_cpu = process_tree_cpu_s(server_pid) - cpu_before
    if errors or any(t.is_alive() for t in threads):
        raise RuntimeError(f"{name}: {errors or 'clients did not finish'}")
    load = os.getloadavg()[0]
    return Run(name, clients, clients * per_client, wall, latencies.reshape(-1), server_cpu, load)


def batch_counters(metrics_port: int) -> tuple[float, float]:
    """Triton's (inferences, executions) of model ese: their ratio is the mean batch size."""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=TIMEOUT_S).read().decode()
    totals = []
    for name in ("nv_inference_count", "nv_inference_exec_count"):
        found = re.findall(rf"^{name}{{([^}}]*)}} (\S+)$", text, re.MULTILINE)
        totals.append(sum(float(v) for labels, v in found if 'model="ese"' in labels))
    return totals[0], totals[1]


def report(
    args: argparse.Namespace, sequential: Run, concurrent: Run, mean_batch: float, log: str
) -> str:
    ratio = concurrent.throughput / sequential.throughput
    ready = next((line for line in log.splitlines() if "ese-serve: ready" in line), "")
    lines = [
        "# ese-serve throughput: concurrent batch-1 clients vs one sequential client",
        "",
        f"- when: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- command: `python -m ese.studies.serve_throughput {' '.join(args.argv)}`",
        f"- export: {args.export_dir}; server: {ready.removeprefix('ese-serve: ')}",
        f"- machine: {platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs available to this process",
        f"- protocol: {args.protocol}; server args: `{' '.join(args.serve_args) or '(defaults)'}`",
        "",
        "| run | clients | requests | wall s | requests/s | p50 ms | p99 ms "
        "| server CPU ms/request | load avg (1 min) |",
        "|---|---|---|---|---|---|---|---|---|",
        sequential.row(),
        concurrent.row(),
        "",
        "Latency is per request, as its client saw it. Server CPU is ese-serve, tritonserver "
        "and the Python-backend stub together (user + system), so it does not depend on "
        "what share of the CPUs other programs left the server.",
        "",
        f"**throughput ratio {ratio:.2f}x** ({concurrent.clients} clients / 1 client); "
        f"mean dynamic batch in the concurrent run: {mean_batch:.1f} requests "
        "(Triton's nv_inference_count / nv_inference_exec_count); server CPU per request "
        + cpu_saving(sequential, concurrent),
    ]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.serve_throughput")
    parser.add_argument("export_dir", type=Path, metavar="DIR")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=100, help="per concurrent client")
    parser.add_argument("--sequential", type=int, default=300, help="sequential requests")
    parser.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    parser.add_argument("--texts", type=Path, help="sentences, one per line (STS-B dev)")
    parser.add_argument("--out", type=Path, help="also write the markdown report here")
    parser.epilog = "Arguments after -- go to ese-serve (budget, batching flags)."
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args = _parser().parse_args(argv[:split])
    args.serve_args = argv[split + 1 :]
    args.argv = argv
    texts = load_texts(args.texts)
    tmp = Path(tempfile.mkdtemp(prefix="ese-serve-bench-"))
    with ServeProcess(args.export_dir, args.serve_args, log=tmp / "serve.log") as server:
        url = server.grpc_url if args.protocol == "grpc" else server.http_url
        pid = server.pid
        sequential = timed_run("sequential", 1, args.sequential, texts, args.protocol, url, pid)
        before = batch_counters(server.metrics_port)
        concurrent = timed_run(
            "concurrent", args.clients, args.requests, texts, args.protocol, url, pid
        )
        after = batch_counters(server.metrics_port)
        mean_batch = (after[0] - before[0]) / max(1.0, after[1] - before[1])
        text = report(args, sequential, concurrent, mean_batch, server.output())
    shutil.rmtree(tmp, ignore_errors=True)
    print_and_write(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
