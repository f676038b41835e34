"""Where the API server's CPU goes under load: py-spy samples of ``api_at_depth``, by part.

    python -m ese.studies.serve_profile exports/bench-serve --depth 6 --clients 16 --seconds 10

Starts ``python -m ese.studies.api_at_depth`` (the ``ese-serve --no-triton`` API), warms it
up, then runs ``--clients`` single-text clients for ``--seconds`` while ``py-spy record``
samples the server's busy threads (idle ones are not sampled). Each sample is put in the part
of its innermost frame that a rule below names (the ONNX Runtime run, tokenising, JSON, the
HTTP transport, the batcher, ...). A part's share of the samples times the server's CPU time
per request is its CPU milliseconds per request. Needs py-spy (``pip install py-spy``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ese.studies.report_output import print_and_write
from ese.studies.serve_vs_infinity import (
    STSB_TEST,
    Load,
    System,
    free_port,
    run_load,
    start,
    stop,
    stsb_sentences,
    wait_ready,
)

# (part, substrings of a frame "function (file:line)"; any one matches), innermost first wins.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("ONNX Runtime run", ("onnxruntime/capi", "(onnxruntime")),
    ("tokenise", ("tokenizers", "tokens.py", "token_arrays.py")),
    ("pool/slice/normalise (numpy)", ("sliced_unit", "numpy/", "encode.py")),
    ("JSON decode/encode", ("json/", "_encoded (", "openai_schema.py", "tei_schema.py")),
    ("request checks", ("fields.py", "routes.py", "service.py", "errors.py")),
    ("batcher (queue, futures)", ("batcher.py", "queue.py", "concurrent/futures")),
    ("metrics", ("metrics.py",)),
    (
        "HTTP transport",
        ("http/server.py", "socketserver.py", "socket.py", "email/", "http_server.py"),
    ),
    ("threads/locks", ("threading.py",)),
]
OTHER = "other"
# Innermost frames of a thread that waits (py-spy samples a thread blocked in a system call as
# busy): these samples are left out, so that the shares are of CPU time.
WAITS = ("wait (threading.py", "readinto (socket.py", "select (selectors.py", "get (queue.py",
         "accept (socket.py", "_wait_for_tstate_lock", "result (concurrent", "acquire")  # fmt: skip
WAITING = "waiting (left out)"


def part_of(stack: Sequence[str]) -> str:
    if any(w in stack[-1] for w in WAITS):
        return WAITING
    for frame in reversed(stack):
        for part, needles in PARTS:
            if any(n in frame for n in needles):
                return part
    return OTHER


def parts_from_raw(raw: str) -> Counter[str]:
    """Samples per part from py-spy's raw (collapsed) output: ``frame;frame;... count``."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[part_of(stack.split(";"))] += int(n)
    return counts


def profile(args: argparse.Namespace, workdir: Path) -> str:
    texts = stsb_sentences(STSB_TEST)
    port = free_port()
    command = [sys.executable, "-m", "ese.studies.api_at_depth", str(args.export_dir)]
    command += ["--depth", str(args.depth), "--precision", args.precision, "--port", str(port)]
    system = System(f"ese d{args.depth} {args.precision}", "ese", command, port, "ese", {})
    start(system, workdir)
    try:
        wait_ready(system, texts[0])
        assert system.process is not None
        raw_out = workdir / "profile.txt"
        spy = subprocess.Popen(
            [args.py_spy, "record", "--pid", str(system.process.pid), "--rate", "250",
             "--format", "raw", "--nonblocking", "--output", str(raw_out),
             "--duration", str(int(args.seconds + 2))],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(1.0)
        row = run_load(system, Load(args.clients, 1), texts, args.seconds)
        _, err = spy.communicate(timeout=args.seconds + 60)
        if spy.returncode != 0 or not raw_out.is_file():
            raise RuntimeError(f"py-spy failed ({spy.returncode}): {err.decode()[-500:]}")
        raw = raw_out.read_text()
        if args.raw_out is not None:
            args.raw_out.write_text(raw)
        counts = parts_from_raw(raw)
    finally:
        stop(system)
    waiting = counts.pop(WAITING, 0)
    total = sum(counts.values()) or 1
    busy = total / (250 * (args.seconds + 2))
    per_request = row.cpu_ms_per_text
    lines = [
        f"## {system.name}, {args.clients} clients x 1 text, {args.seconds:g} s",
        "",
        f"{row.throughput:.1f} requests/s, p50 {row.percentile(50):.1f} ms, "
        f"p99 {row.percentile(99):.1f} ms; server CPU {per_request:.2f} ms/request at a mean "
        f"batch of {row.mean_batch:.1f} texts; {total} py-spy samples of busy threads "
        f"({busy:.2f} CPUs on average; {waiting} samples of waiting threads left out)",
        "",
        "| part | share of samples | CPU ms/request |",
        "|---|---|---|",
    ]
    for part, n in counts.most_common():
        lines.append(f"| {part} | {n / total:.1%} | {per_request * n / total:.2f} |")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.serve_profile")
    parser.add_argument("export_dir", type=Path, metavar="DIR")
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--raw-out", type=Path, help="also keep py-spy's raw samples here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ese-serve-profile-") as tmp:
        text = profile(args, Path(tmp))
    print_and_write(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
