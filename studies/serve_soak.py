"""A bounded soak of ``ese-serve --no-triton``: many clients, good, malformed and vanishing.

    python -m ese.studies.serve_soak exports/bench-serve --clients 64 --seconds 60 --out soak.md

Starts ``ese-serve DIR --no-triton --api-port 0`` (loopback) in its own process, warms it up
with the same mix for ``--warmup`` seconds, reads its RSS, then runs ``--clients`` clients for
``--seconds``. Each client draws, request by request, one of:

- good (most): OpenAI ``/v1/embeddings`` (float or base64) or TEI ``/embed``, 1-8 STS-B
  sentences at a drawn width; its vectors must equal ``Embedder.encode(texts, dims=k)``
  within 1e-6;
- malformed: broken JSON, an empty input, a non-string item, a width out of range, a wrong
  content type, a body over the byte limit; each must get its 4xx status;
- vanishing: a body cut off half-way then the socket closed, a whole request whose client
  closes before reading the answer, or a connection opened and closed with nothing sent.

Nothing may be lost: every good request answered correctly, every malformed one refused with
its status; the server must still answer ``/health`` at the end, and its RSS at the end is
reported against the RSS after warm-up. Exits 1 when any of that fails.
"""

from __future__ import annotations

import argparse
import base64
import csv
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ese.runtime import Embedder
from ese.studies.report_output import print_and_write

ROOT = Path(__file__).resolve().parent.parent
STSB_DEV = ROOT.parent / "shared/data/stsb/sts-dev.csv"
READY_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60.0
MAX_REQUEST_BYTES = 64 * 1024
GOOD, MALFORMED, VANISHING = "good", "malformed", "vanishing"


@dataclass
class Tally:
    """What the clients sent and what went wrong, added up under a lock."""

    sent: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str) -> None:
        with self.lock:
            self.sent[kind] += 1

    def fail(self, line: str) -> None:
        with self.lock:
            self.failures.append(line)


@dataclass(frozen=True)
class SoakResult:
    sent: Counter[str]
    failures: list[str]
    rss_warm_mb: float
    rss_end_mb: float
    alive: bool
    seconds: float

    @property
    def rss_growth(self) -> float:
        return self.rss_end_mb / self.rss_warm_mb - 1


def soak_texts(path: Path = STSB_DEV, limit: int = 400) -> list[str]:
    """STS-B dev sentences (read as the data README says), or made-up ones without the data."""
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as f:
            rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            return [s for row in rows if len(row) >= 7 for s in row[5:7]][:limit]
    return [f"sentence {i} about a dog that runs in the park" for i in range(limit)]


class Expected:
    """``Embedder.encode(text, dims=k)`` for every text of the pool at each drawn width."""

    def __init__(self, embedder: Embedder, texts: Sequence[str], widths: Sequence[int]) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.by_width = {k: embedder.encode(list(texts), dims=k) for k in widths}

    def vectors(self, texts: Sequence[str], dims: int) -> np.ndarray:
        return self.by_width[dims][[self.index[t] for t in texts]]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _post(port: int, path: str, body: bytes, content_type: str = "application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("POST", path, body, {"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _good(rng: random.Random, port: int, texts: Sequence[str], expected: Expected) -> str:
    """One good request; an empty string when it was answered right, else what was wrong."""
    chosen = rng.sample(list(texts), rng.randint(1, 8))
    dims = rng.choice(list(expected.by_width))
    route = rng.choice(["openai-float", "openai-base64", "tei"])
    if route == "tei":
        body = {"inputs": chosen, "dimensions": dims}
        status, raw = _post(port, "/embed", json.dumps(body).encode())
        if status != 200:
            return f"/embed: HTTP {status} {raw[:120]!r}"
        got = np.array(json.loads(raw), dtype=np.float32)
    else:
        encoding = route.split("-")[1]
        body = {"input": chosen, "dimensions": dims, "encoding_format": encoding}
        status, raw = _post(port, "/v1/embeddings", json.dumps(body).encode())
        if status != 200:
            return f"/v1/embeddings: HTTP {status} {raw[:120]!r}"
        data = sorted(json.loads(raw)["data"], key=lambda d: d["index"])
        if encoding == "base64":
            got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in data])
        else:
            got = np.array([d["embedding"] for d in data], dtype=np.float32)
    want = expected.vectors(chosen, dims)
    if got.shape != want.shape or not np.allclose(got, want, atol=1e-6, rtol=0):
        return f"{route} dims={dims}: vectors differ from Embedder.encode"
    return ""


MALFORMED_REQUESTS: list[tuple[str, bytes, str, int]] = [
    ("/v1/embeddings", b'{"input": ["a dog"', "application/json", 400),
    ("/v1/embeddings", b'{"input": []}', "application/json", 400),
    ("/v1/embeddings", b'{"input": ["a", 3]}', "application/json", 400),
    ("/v1/embeddings", b'{"input": "a", "dimensions": 0}', "application/json", 400),
    ("/embed", b'{"inputs": "a", "dimensions": 100000}', "application/json", 422),
    ("/embed", b"inputs=a", "application/x-www-form-urlencoded", 415),
    ("/embed", json.dumps({"inputs": "x" * MAX_REQUEST_BYTES}).encode(), "application/json", 413),
]


def _malformed(rng: random.Random, port: int) -> str:
    path, body, content_type, status = rng.choice(MALFORMED_REQUESTS)
    got, raw = _post(port, path, body, content_type)
    if got != status:
        return f"{path} {body[:40]!r}: HTTP {got}, not {status}: {raw[:120]!r}"
    return ""


def _vanishing(rng: random.Random, port: int, texts: Sequence[str]) -> str:
    body = json.dumps({"input": rng.sample(list(texts), 4)}).encode()
    head = (
        f"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    how = rng.choice(["half-body", "no-read", "nothing"])
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT_S) as s:
        if how == "half-body":
            s.sendall(head + body[: len(body) // 2])
        elif how == "no-read":
            s.sendall(head + body)
        # "nothing": opened and closed
    return ""


def run_clients(
    port: int,
    texts: Sequence[str],
    expected: Expected,
    *,
    clients: int,
    seconds: float,
    seed: int,
    weights: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> Tally:
    """``clients`` threads for ``seconds``, each drawing good, malformed or vanishing requests."""
    tally = Tally()
    deadline = time.monotonic() + seconds
    kinds = (GOOD, MALFORMED, VANISHING)
    actions: dict[str, Callable[[random.Random], str]] = {
        GOOD: lambda rng: _good(rng, port, texts, expected),
        MALFORMED: lambda rng: _malformed(rng, port),
        VANISHING: lambda rng: _vanishing(rng, port, texts),
    }

    def client(c: int) -> None:
        rng = random.Random(seed * 1000 + c)
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            tally.count(kind)
            try:
                wrong = actions[kind](rng)
            except (OSError, http.client.HTTPException) as exc:
                wrong = f"{kind}: {type(exc).__name__}: {exc}"
            if wrong:
                tally.fail(wrong)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT_S * 2)
    return tally


def start_server(
    export_dir: Path, log: Path, serve_args: Sequence[str]
) -> tuple[subprocess.Popen[bytes], int]:
    """``ese-serve DIR --no-triton --api-port 0`` and the port its ready line names."""
    command = [sys.executable, "-m", "ese.serving.serve_cli", str(export_dir), "--no-triton"]
    command += ["--api-port", "0", "--api-max-request-bytes", str(MAX_REQUEST_BYTES)]
    with log.open("wb") as out:
        proc = subprocess.Popen([*command, *serve_args], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        ready = next((x for x in text.splitlines() if x.startswith("ese-serve: ready")), None)
        if ready is not None:
            url = ready.split(" on api ")[1].split()[0]
            return proc, int(url.rsplit(":", 1)[1])
        if proc.poll() is not None:
            raise RuntimeError(f"ese-serve exited {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"ese-serve was not ready in {READY_TIMEOUT_S:.0f} s")


def healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def soak(
    export_dir: Path,
    workdir: Path,
    *,
    clients: int,
    seconds: float,
    warmup_s: float,
    seed: int = 0,
    serve_args: Sequence[str] = (),
    texts: Sequence[str] | None = None,
) -> SoakResult:
    """Start the server, warm it up, soak it, stop it; what was sent and what went wrong."""
    texts = list(texts or soak_texts())
    embedder = Embedder(export_dir)
    widest = embedder.max_dims
    expected = Expected(embedder, texts, sorted({widest, max(1, widest // 2), min(8, widest)}))
    embedder.close()
    proc, port = start_server(export_dir, workdir / "serve.log", serve_args)
    try:
        warm = run_clients(port, texts, expected, clients=clients, seconds=warmup_s, seed=seed)
        rss_warm = rss_mb(proc.pid)
        began = time.monotonic()
        tally = run_clients(port, texts, expected, clients=clients, seconds=seconds, seed=seed + 1)
        elapsed = time.monotonic() - began
        alive = proc.poll() is None and healthy(port)
        rss_end = rss_mb(proc.pid) if proc.poll() is None else float("nan")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    failures = [f"warm-up: {x}" for x in warm.failures] + tally.failures
    return SoakResult(tally.sent, failures, rss_warm, rss_end, alive, elapsed)


def report(args: argparse.Namespace, result: SoakResult) -> str:
    sent = result.sent
    lines = [
        "# ese-serve --no-triton under a bounded soak",
        "",
        f"- when: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}; load average "
        f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min); "
        f"{len(os.sched_getaffinity(0))} CPUs shared by the server and the clients",
        f"- command: `python -m ese.studies.serve_soak {' '.join(args.argv)}`",
        f"- {args.clients} clients for {result.seconds:.0f} s after {args.warmup:g} s warm-up",
        "",
        "| requests | good | malformed | vanishing | failures | server alive at the end "
        "| RSS after warm-up MB | RSS at the end MB | growth |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {sum(sent.values())} | {sent[GOOD]} | {sent[MALFORMED]} | {sent[VANISHING]} "
        f"| {len(result.failures)} | {'yes' if result.alive else 'NO'} "
        f"| {result.rss_warm_mb:.1f} | {result.rss_end_mb:.1f} | {result.rss_growth:+.1%} |",
    ]
    if result.failures:
        lines += ["", "Failures (first 20):", ""] + [f"- {x}" for x in result.failures[:20]]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.serve_soak")
    parser.add_argument("export_dir", type=Path, metavar="DIR")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--rss-bound", type=float, default=0.10, help="allowed RSS growth")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.epilog = "Arguments after -- go to ese-serve."
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args = _parser().parse_args(argv[:split])
    args.argv = argv
    with tempfile.TemporaryDirectory(prefix="ese-soak-") as tmp:
        result = soak(
            args.export_dir,
            Path(tmp),
            clients=args.clients,
            seconds=args.seconds,
            warmup_s=args.warmup,
            seed=args.seed,
            serve_args=argv[split + 1 :],
        )
    print_and_write(report(args, result), args.out)
    held = not result.failures and result.alive and result.rss_growth <= args.rss_bound
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
