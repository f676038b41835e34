"""ese's embedding API against infinity (``infinity-emb``), on the same model, CPU and texts.

    python -m ese.studies.serve_vs_infinity exports/bench-serve \\
        --infinity build/infinity-venv/bin/infinity_emb --seconds 6 --out report.md

Every server runs in its own process on a free loopback port, all at once, and the loads take
turns: for each load, each server in turn (so a change in what else runs on the machine hits
them alike), for ``--rounds`` rounds. Loads: 1, 16 and 64 concurrent clients each sending one
text per request, and 8 clients sending 32 texts per request (STS-B sentences, the same for
every server), all as OpenAI ``/embeddings`` requests over keep-alive HTTP/1.1 connections.
Each load runs ``--seconds`` after a short warm-up. Per row: requests/s (texts/s for the batch
load), p50 and p99 latency as the client saw it, the server's CPU time (user + system of its
whole process tree) per text, and, for ese, the mean texts per graph run (from its /metrics)
and the bare runtime's CPU time per sentence at that batch size, measured afterwards in this
process with the same graph. Ratios are to infinity's best engine on the same load.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ese.runtime import Embedder
from ese.serving.api.batcher import CPU_RUN_TEXTS
from ese.studies.process_table import descendants, process_table
from ese.studies.report_output import print_and_write

ROOT = Path(__file__).resolve().parent.parent
STSB_TEST = ROOT.parent / "shared/data/stsb/sts-test.csv"
START_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60.0
WARMUP_S = 2.0


@dataclass(frozen=True)
class Load:
    """Concurrent clients, each sending ``batch`` texts per request."""

    clients: int
    batch: int

    @property
    def name(self) -> str:
        return f"{self.clients} x {self.batch}"


@dataclass
class System:
    """One server: how to start it, where it listens, what model name its API wants."""

    name: str
    engine: str  # "ese" or "infinity"
    command: list[str]
    port: int
    model: str
    env: dict[str, str]
    cwd: Path | None = None
    depth: int = 0
    precision: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def path(self) -> str:
        return "/v1/embeddings" if self.engine == "ese" else "/embeddings"


@dataclass
class Row:
    system: str
    load: Load
    texts: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    mean_batch: float = float("nan")
    bare_cpu_ms: float = float("nan")
    load_avg: float = 0.0

    @property
    def throughput(self) -> float:
        """Texts per second (requests per second where each request has one text)."""
        return self.texts / self.wall_s if self.wall_s else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    @property
    def cpu_ms_per_text(self) -> float:
        return self.cpu_s * 1000 / self.texts if self.texts else float("nan")


def stsb_sentences(path: Path) -> list[str]:
    """The STS-B sentences (both columns), read as the data README says, in a fixed shuffled
    order: the file is grouped by genre, so neighbours have like lengths, which a batch of
    requests from many clients has not (and padding makes length the cost)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        texts = [s for row in rows if len(row) >= 7 for s in row[5:7]]
    random.Random(0).shuffle(texts)
    return texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu_s(pid: int) -> float:
    table = process_table()
    return sum(table[p].cpu_s for p in {pid} | descendants(pid, table) if p in table)


def start(system: System, workdir: Path) -> None:
    system.log = workdir / f"{system.name}.log"
    with system.log.open("wb") as log:
        system.process = subprocess.Popen(
            system.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **system.env},
            cwd=system.cwd,
            start_new_session=True,
        )


def wait_ready(system: System, text: str) -> None:
    """Until one embedding request succeeds; the log's tail if the process dies first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    assert system.process is not None and system.log is not None
    while time.monotonic() < deadline:
        if system.process.poll() is not None:
            tail = system.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{system.name} exited {system.process.returncode}:\n{tail}")
        try:
            post(http.client.HTTPConnection("127.0.0.1", system.port, timeout=10), system, [text])
            return
        except (OSError, http.client.HTTPException, RuntimeError):
            time.sleep(1.0)
    raise RuntimeError(f"{system.name} did not answer within {START_TIMEOUT_S:.0f} s")


def stop(system: System) -> None:
    if system.process is None or system.process.poll() is not None:
        return
    os.killpg(system.process.pid, signal.SIGTERM)
    try:
        system.process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(system.process.pid, signal.SIGKILL)
        system.process.wait(20)


def post(conn: http.client.HTTPConnection, system: System, texts: list[str]) -> int:
    """One OpenAI embeddings request; the number of vectors answered."""
    body = json.dumps({"model": system.model, "input": texts}).encode()
    conn.request("POST", system.path, body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{system.name}: HTTP {response.status}: {payload[:200]!r}")
    count = len(json.loads(payload)["data"])
    if count != len(texts):
        raise RuntimeError(f"{system.name}: {count} vectors for {len(texts)} texts")
    return count


def ese_batch_counters(system: System) -> tuple[float, float]:
    """(texts, graph runs) so far, from the ese API's /metrics."""
    url = f"http://127.0.0.1:{system.port}/metrics"
    text = urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S).read().decode()
    found = dict(re.findall(r"^ese_api_batch_size_(sum|count) (\S+)$", text, re.MULTILINE))
    return float(found["sum"]), float(found["count"])


def run_load(system: System, load: Load, texts: Sequence[str], seconds: float) -> Row:
    """``load.clients`` clients for ``seconds`` (after a warm-up), each on its own connection."""
    assert system.process is not None
    row = Row(system.name, load)
    counts = [0] * load.clients
    latencies: list[list[float]] = [[] for _ in range(load.clients)]
    errors: list[str] = []
    measuring = threading.Event()
    finished = threading.Event()
    barrier = threading.Barrier(load.clients + 1)

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", system.port, timeout=REQUEST_TIMEOUT_S)
        step = 0
        try:
            barrier.wait(START_TIMEOUT_S)
            while not finished.is_set():
                first = (c * 7919 + step * load.batch) % len(texts)
                batch = [texts[(first + i) % len(texts)] for i in range(load.batch)]
                step += 1
                counted = measuring.is_set()
                began = time.perf_counter()
                n = post(conn, system, batch)
                if counted and not finished.is_set():
                    latencies[c].append((time.perf_counter() - began) * 1000)
                    counts[c] += n
        except Exception as exc:  # reported with the row's name
            errors.append(f"client {c}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(load.clients)]
    for thread in threads:
        thread.start()
    barrier.wait(START_TIMEOUT_S)
    time.sleep(WARMUP_S)
    before = ese_batch_counters(system) if system.engine == "ese" else (0.0, 0.0)
    cpu_before = tree_cpu_s(system.process.pid)
    began = time.perf_counter()
    measuring.set()
    time.sleep(seconds)
    finished.set()
    row.wall_s = time.perf_counter() - began
    row.cpu_s = tree_cpu_s(system.process.pid) - cpu_before
    if system.engine == "ese":
        after = ese_batch_counters(system)
        row.mean_batch = (after[0] - before[0]) / max(1.0, after[1] - before[1])
    for thread in threads:
        thread.join(REQUEST_TIMEOUT_S)
    if errors:
        raise RuntimeError(f"{system.name} at {load.name}: {errors[:3]}")
    row.texts = sum(counts)
    row.latencies_ms = [x for per in latencies for x in per]
    row.load_avg = os.getloadavg()[0]
    return row


def bare_cpu_ms_per_sentence(
    export_dir: Path, system: System, batch: int, texts: Sequence[str], seconds: float
) -> float:
    """CPU ms per sentence of ``Embedder.encode`` alone, ``batch`` texts per call run as the
    server runs them (length-sorted runs of at most ``CPU_RUN_TEXTS``), same graph, one
    thread, over the same shuffled texts as the clients send."""
    run = min(batch, CPU_RUN_TEXTS)
    embedder = Embedder(
        export_dir, precision=system.precision, depth=system.depth, intra_op_threads=1
    )
    with embedder:
        chunks = [list(texts[i : i + batch]) for i in range(0, len(texts) - batch, batch)]
        embedder.encode(chunks[0], batch_size=run)
        done, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - wall0 < seconds:
            embedder.encode(chunks[done % len(chunks)], batch_size=run)
            done += 1
        return (time.process_time() - cpu0) * 1000 / (done * batch)


def systems_from(args: argparse.Namespace) -> list[System]:
    systems: list[System] = []
    threads = str(args.threads)
    for spec in args.ese:
        depth, precision = spec.split(":")
        command = [sys.executable, "-m", "ese.studies.api_at_depth", str(args.export_dir)]
        command += ["--depth", depth, "--precision", precision, "--port"]
        port = free_port()
        systems.append(
            System(
                f"ese d{depth} {precision}",
                "ese",
                [*command, str(port), *args.ese_args],
                port,
                "ese",
                {},
                depth=int(depth),
                precision=precision,
            )
        )
    for spec in args.infinity_engines:
        engine, dtype = spec.split(":")
        port = free_port()
        # Run in the model directory as "." : infinity 0.0.78's optimum engine finds a local
        # model.onnx only by a path relative to the working directory.
        command = [
            str(Path(args.infinity).resolve()), "v2", "--model-id", ".", "--engine", engine,
            "--device", "cpu", "--dtype", dtype, "--port", str(port), "--host", "127.0.0.1",
            "--served-model-name", "minilm", "--batch-size", str(args.infinity_batch),
            "--pooling-method", "mean", "--no-compile",
        ]  # fmt: skip
        env = {
            "HF_HOME": str(args.infinity_model.resolve().parent / "infinity-hf"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "INFINITY_ANONYMOUS_USAGE_STATS": "0",
            "DO_NOT_TRACK": "1",
            "OMP_NUM_THREADS": threads,
        }
        name = f"infinity {engine} {dtype}"
        systems.append(
            System(name, "infinity", command, port, "minilm", env, cwd=args.infinity_model)
        )
    return systems


def cpu_line() -> str:
    model, flags = platform.processor() or platform.machine(), ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.*)$", info, re.MULTILINE).group(1)  # type: ignore[union-attr]
        flag_set = set(re.search(r"^flags\s*:\s*(.*)$", info, re.MULTILINE).group(1).split())  # type: ignore[union-attr]
        wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8")
        flags = " ".join(f for f in wanted if f in flag_set)
    except (OSError, AttributeError):
        pass
    return f"{model}; flags: {flags or 'none of avx2/avx512/vnni/amx'}"


def report(args: argparse.Namespace, rows: list[Row], loads_before: tuple[float, ...]) -> str:
    def best_infinity(load: Load) -> Row | None:
        theirs = [r for r in rows if r.load == load and r.system.startswith("infinity")]
        return max(theirs, key=lambda r: r.throughput, default=None)

    lines = [
        "# ese's embedding API against infinity, same model, CPU and texts",
        "",
        f"- when: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}; load average before "
        f"{' / '.join(f'{x:.2f}' for x in loads_before)}, after "
        f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min)",
        f"- CPU: {cpu_line()}; {len(os.sched_getaffinity(0))} CPUs available to the bench, "
        "shared by the servers, the clients and whatever else runs on the machine",
        f"- command: `python -m ese.studies.serve_vs_infinity {' '.join(args.argv)}`",
        f"- model: the bundled all-MiniLM-L6-v2 (infinity: {args.infinity_model}, the same files "
        f"plus optimum's ONNX export of them; ese: its export {args.export_dir}); texts: STS-B "
        f"test sentences; {args.seconds:g} s per row after {WARMUP_S:g} s warm-up, {args.rounds} "
        "round(s), loads and servers alternating",
        f"- threads: ese {args.ese_args or ['(ese-serve default layout)']}; infinity "
        f"OMP_NUM_THREADS={args.threads}, --batch-size {args.infinity_batch}",
        "",
        "Throughput is texts/s (= requests/s for single-text loads). Ratios are to infinity's "
        "best engine at the same load. CPU ms/text is the server's whole process tree "
        "(user + system). `bare` is `Embedder.encode` alone, CPU ms per sentence at the "
        "server's mean batch (rounded) per call, in the server's length-sorted runs of at most "
        f"{CPU_RUN_TEXTS}, same graph, one thread, same shuffled texts.",
        "",
        "| load (clients x texts) | server | texts/s | x best infinity | p50 ms | p99 ms "
        "| p99 / infinity's | server CPU ms/text | mean batch | bare CPU ms/sentence "
        "| server / bare | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for load in args.loads:
        best = best_infinity(load)
        for row in (r for r in rows if r.load == load):
            ratio = row.throughput / best.throughput if best and best.throughput else float("nan")
            p99_ratio = row.percentile(99) / best.percentile(99) if best else float("nan")
            over_bare = row.cpu_ms_per_text / row.bare_cpu_ms
            lines.append(
                f"| {load.name} | {row.system} | {row.throughput:.1f} | {ratio:.2f} "
                f"| {row.percentile(50):.1f} | {row.percentile(99):.1f} | {p99_ratio:.2f} "
                f"| {row.cpu_ms_per_text:.2f} | {row.mean_batch:.1f} | {row.bare_cpu_ms:.2f} "
                f"| {over_bare:.2f} | {row.load_avg:.1f} |"
            )
    return "\n".join(lines) + "\n"


def merged(rows: list[Row]) -> list[Row]:
    """One row per (system, load): the rounds' texts, wall time, latencies and CPU added up."""
    out: dict[tuple[str, Load], Row] = {}
    for row in rows:
        key = (row.system, row.load)
        into = out.setdefault(key, Row(row.system, row.load, mean_batch=0.0))
        into.texts += row.texts
        into.wall_s += row.wall_s
        into.latencies_ms += row.latencies_ms
        into.cpu_s += row.cpu_s
        into.mean_batch += row.mean_batch / sum(1 for r in rows if (r.system, r.load) == key)
        into.load_avg = max(into.load_avg, row.load_avg)
    return list(out.values())


def parse_loads(text: str) -> list[Load]:
    return [Load(*(int(x) for x in part.split("x"))) for part in text.split(",")]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.serve_vs_infinity")
    parser.add_argument("export_dir", type=Path, metavar="DIR", help="ese-export --depths 2,6")
    parser.add_argument(
        "--infinity", default="build/infinity-venv/bin/infinity_emb", help="its CLI"
    )
    parser.add_argument(
        "--infinity-model", type=Path, default=Path("build/infinity-minilm"),
        help="the bundled all-MiniLM-L6-v2 files plus optimum's model.onnx of them "
        "(make bench-serve builds it)",
    )  # fmt: skip
    parser.add_argument(
        "--ese", type=lambda s: s.split(","), default=["6:fp32", "6:int8", "2:fp32", "2:int8"],
        help="depth:precision servers (default 6:fp32,6:int8,2:fp32,2:int8)",
    )  # fmt: skip
    parser.add_argument(
        "--infinity-engines", type=lambda s: [x for x in s.split(",") if x],
        default=["optimum:float32", "torch:float32", "torch:int8"],
        help="engine:dtype servers (default optimum:float32,torch:float32,torch:int8)",
    )  # fmt: skip
    parser.add_argument("--loads", type=parse_loads, default=parse_loads("1x1,16x1,64x1,8x32"))
    parser.add_argument("--seconds", type=float, default=6.0, help="per row and round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="infinity's OMP threads")
    parser.add_argument("--infinity-batch", type=int, default=32)
    parser.add_argument("--bare-seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path)
    parser.epilog = "Arguments after -- go to every ese server (e.g. --workers 1 --threads 2)."
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args = _parser().parse_args(argv[:split])
    args.ese_args = argv[split + 1 :]
    args.argv = argv
    texts = stsb_sentences(STSB_TEST)
    loads_before = os.getloadavg()
    systems = systems_from(args)
    workdir = Path(tempfile.mkdtemp(prefix="ese-vs-infinity-"))
    rows: list[Row] = []
    try:
        for system in systems:  # one at a time: their start-ups would fight for the CPUs
            start(system, workdir)
            wait_ready(system, texts[0])
            print(f"ready: {system.name}", file=sys.stderr, flush=True)
        for round_ in range(args.rounds):
            for load in args.loads:
                for system in systems:
                    row = run_load(system, load, texts, args.seconds)
                    rows.append(row)
                    print(
                        f"round {round_ + 1} {load.name:>7} {system.name:<24} "
                        f"{row.throughput:8.1f} texts/s p99 {row.percentile(99):7.1f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        for system in systems:
            stop(system)
    rows = merged(rows)
    for row in rows:
        system = next(s for s in systems if s.name == row.system)
        if system.engine == "ese":
            batch = max(1, round(row.mean_batch))
            row.bare_cpu_ms = bare_cpu_ms_per_sentence(
                args.export_dir, system, batch, texts, args.bare_seconds
            )
    print_and_write(report(args, rows, loads_before), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
