"""Peak memory and wall time of ese-export on big encoders (random weights of real shapes).

``python -m ese.studies.export_memory [--shapes base,large] [--out FILE]`` writes a random
BERT-base (12 layers, hidden 768, ~110M parameters) and BERT-large (24 layers, hidden 1024,
~335M) into a temporary directory, exports each (base: depths 4,6,12; large: 8,12,24; CLS
pooling, ``--projection none``, parity included) in a fresh process, and reports wall time, peak
RSS (that process's high-water mark, imports included), the ratio to the weight bytes, and the
RSS at the start of each export step and its highest within it. The values of the weights do
not change memory or time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SHAPES = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, depths=(4, 6, 12)),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096, depths=(8, 12, 24)),
}  # fmt: skip
RATIO_TARGET = 2.5


@dataclass(frozen=True)
class Measured:
    shape: str
    params: int
    weight_bytes: int
    depths: tuple[int, ...]
    seconds: float
    peak_rss: int
    steps: list[tuple[str, int, int]]  # (step, RSS at its start, highest RSS within it)


def _rss() -> tuple[int, int]:
    """This process's resident and peak resident bytes (Linux /proc)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def _reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux: /proc/self/clear_refs, 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class _StepPeaks:
    """The highest RSS within each export step, from the kernel's high-water mark.

    At each step's start, ``VmHWM`` (the peak since the last reset) closes the previous step
    and is reset. A sampling thread could not do this: it does not run while PyTorch's JIT
    passes hold the GIL, and it missed the tracing peak. Where the mark cannot be reset, each
    step's high is the process's peak so far (``resets`` is False).
    """

    def __init__(self) -> None:
        self._steps: list[list[Any]] = []  # [step, RSS at its start, highest RSS within it]
        self.resets = True

    def start(self, step: str) -> None:
        now, high = _rss()
        if self._steps:
            self._steps[-1][2] = max(self._steps[-1][2], high)
        self.resets = _reset_peak() and self.resets
        self._steps.append([step, now, now])

    def stop(self) -> list[tuple[str, int, int]]:
        _, high = _rss()
        self._steps[-1][2] = max(self._steps[-1][2], high)
        return [(step, start, top) for step, start, top in self._steps]


def write_random_bert(out: Path, shape: str) -> Path:
    """A Hugging Face BERT of ``shape`` with random weights and a BERT-sized vocabulary."""
    import torch
    import transformers

    from ese.studies.stand_in_model import MINILM, write_stand_in

    write_stand_in(out)  # tokenizer files with the 30,522-entry vocabulary
    for name in ("modules.json", "sentence_bert_config.json", "STAND-IN.md"):
        (out / name).unlink()
    (out / "1_Pooling" / "config.json").unlink()
    (out / "1_Pooling").rmdir()
    sizes = {k: v for k, v in SHAPES[shape].items() if k != "depths"}
    config = transformers.BertConfig(
        vocab_size=MINILM["vocab_size"], max_position_embeddings=512, pad_token_id=0, **sizes
    )
    torch.manual_seed(0)
    model = transformers.BertModel(config, add_pooling_layer=False).eval()
    model.save_pretrained(out, safe_serialization=True)
    return out


def _child(model: Path, depths: str, out: Path, report: Path, probe: str) -> int:
    """Run in a fresh process: one export, step by step RSS, into ``report`` (JSON)."""
    from ese.exporter import export

    sampler = _StepPeaks()
    started = time.perf_counter()
    sampler.start("imports done")
    try:
        export(model, [int(d) for d in depths.split(",")], out, projection="none",
               pooling="cls", progress=sampler.start,
               quality_set=Path(probe) if probe else None)  # fmt: skip
    finally:
        steps = sampler.stop()
    seconds = time.perf_counter() - started
    # ru_maxrss is reset with VmHWM: the whole run's peak is the highest step's
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, *(s[2] for s in steps))
    report.write_text(json.dumps({"seconds": seconds, "peak_rss": peak, "steps": steps}))
    return 0


def longest_triplets(count: int, out: Path) -> Path:
    """The shipped probe's ``count`` triplets with the longest texts (its costliest batches)."""
    from importlib import resources

    header, *rows = (
        resources.files("ese.exporter").joinpath("data/probe.tsv").read_text("utf-8").splitlines()
    )
    rows.sort(key=lambda row: max(len(text) for text in row.split("\t")), reverse=True)
    out.write_text("\n".join([header, *rows[:count]]) + "\n", encoding="utf-8")
    return out


def measure(shape: str, work: Path, probe_triplets: int | None = None) -> Measured:
    model = work / f"{shape}-model"
    subprocess.run(
        [sys.executable, "-m", "ese.studies.export_memory", "--write-model", shape, str(model)],
        check=True,
    )
    weights = sum(p.stat().st_size for p in model.glob("*.safetensors"))
    depths = ",".join(str(d) for d in SHAPES[shape]["depths"])  # type: ignore[attr-defined]
    report = work / f"{shape}.json"
    probe = ""
    if probe_triplets is not None:
        probe = str(longest_triplets(probe_triplets, work / f"probe-{probe_triplets}.tsv"))
    subprocess.run(
        [sys.executable, "-m", "ese.studies.export_memory", "--child", str(model), depths,
         str(work / f"{shape}-export"), str(report), probe],
        check=True,
    )  # fmt: skip
    data = json.loads(report.read_text())
    return Measured(
        shape=shape,
        params=weights // 4,
        weight_bytes=weights,
        depths=tuple(int(d) for d in depths.split(",")),
        seconds=data["seconds"],
        peak_rss=data["peak_rss"],
        steps=[tuple(s) for s in data["steps"]],
    )


def _cpu() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), platform.processor())  # fmt: skip
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines()
                  if ln.startswith("flags")), [])  # fmt: skip
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags]
    return f"{model}, {os.cpu_count()} cores, flags {' '.join(simd) or 'none of avx2/avx512'}"


def render(results: list[Measured], command: str) -> str:
    mb = 1e6
    lines = [
        "# ese-export peak memory on big encoders (random weights)",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {_cpu()}; {platform.platform()}",
        f"- load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        "- each export runs in a fresh process: CLS pooling, `--projection none`, parity check "
        "of every depth included; peak RSS is that process's high-water mark (imports "
        "included), read per step from `VmHWM`, reset at each step's start",
        "",
        "| shape | parameters | weight bytes | depths | wall time | peak RSS | peak / weights "
        f"| target <= {RATIO_TARGET}x |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = r.peak_rss / r.weight_bytes
        lines.append(
            f"| {r.shape} | {r.params / 1e6:.0f}M | {r.weight_bytes / mb:.0f} MB | "
            f"{','.join(map(str, r.depths))} | {r.seconds:.0f} s | {r.peak_rss / mb:.0f} MB | "
            f"{ratio:.2f}x | {'met' if ratio <= RATIO_TARGET else 'not met'} |"
        )
    for r in results:
        top = max(r.steps, key=lambda step: step[2])
        lines += ["", f"Peak of {r.shape}: {top[2] / mb:.0f} MB, in step '{top[0]}'."]
    for r in results:
        lines += ["", f"RSS by step, {r.shape} (MB: at its start / highest within it):", ""]
        lines += [f"- {step}: {now / mb:.0f} / {peak / mb:.0f}" for step, now, peak in r.steps]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(Path(argv[1]), argv[2], Path(argv[3]), Path(argv[4]), argv[5])
    if argv[:1] == ["--write-model"]:
        write_random_bert(Path(argv[2]), argv[1])
        return 0
    parser = argparse.ArgumentParser(prog="python -m ese.studies.export_memory")
    parser.add_argument("--shapes", default="base,large", help="base, large or base,large")
    parser.add_argument("--out", type=Path, help="write the Markdown results there too")
    parser.add_argument(
        "--probe-triplets",
        type=int,
        help="score the quality grid on the shipped probe's N longest triplets, not all 1,000 "
        "(faster; the calibration batches are bounded by tokens, so the peak is the same)",
    )
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="ese-export-memory-") as work:
        for shape in args.shapes.split(","):
            results.append(measure(shape, Path(work), args.probe_triplets))
            print(render(results, "python -m ese.studies.export_memory " + " ".join(argv)))
    text = render(results, "python -m ese.studies.export_memory " + " ".join(argv))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
