"""Texts in, vectors out: the runtime against ``SentenceTransformer(...).half().encode``.

The comparison a user makes: both sides take Python strings, tokenise them, copy them to the
device, run, and hand back numpy vectors on the host. Per shape (depth, batch, tokens), texts
that tokenise to exactly that many tokens go to both; each side is warmed at the shape, then
the two alternate round by round (the order swapping every round), so that a clock boost,
a cache or a noisy neighbour lands on both. The deepest depth (the one the targets name) runs
first. On CUDA the PyTorch side is the model in fp16 (``.half()``); on the CPU it stays fp32
(PyTorch has no fast fp16 CPU path), and the result says so. It also records whether TF32 was
allowed for fp32 matmuls (``torch.backends.cuda.matmul.allow_tf32`` and
``torch.get_float32_matmul_precision()``).

    python -m ese.studies.gpu_encode_race DIR --provider cuda --out RESULTS/encode-race.json \
        [--model MODEL] [--precision fp16] [--depths 6,2] [--batch 1,128] [--seq 16,256]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ese.benchmarks.grid import parse_ints
from ese.benchmarks.latency.measurement import Measurement
from ese.benchmarks.latency.stats import Percentiles, paired_ratios
from ese.format import ExportDir, Precision, open_export
from ese.format.errors import UserError
from ese.runtime import Embedder
from ese.runtime.backends.providers import CPU
from ese.runtime.backends.providers import resolve as resolve_providers

MIN_ROUNDS = 3
RUNTIME = "onnxruntime"
TORCH = "sentence-transformers"

# Words that are one token under most vocabularies; the texts are built from those of them
# that are one token under this export's tokenizer (the letters are, under any WordPiece).
WORDS = (
    *"abcdefghijklmnopqrstuvwxyz",
    *("the", "man", "woman", "dog", "is", "on", "in", "play", "red", "car", "day", "run"),
)


def texts_of_length(tokenizer_file: Path, batch: int, seq: int) -> list[str]:
    """``batch`` different texts that each tokenise to exactly ``seq`` tokens (specials in)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    specials = len(tokenizer.encode("").ids)
    single = [w for w in WORDS if len(tokenizer.encode(w, add_special_tokens=False).ids) == 1]
    if len(single) < 2 or seq <= specials:
        raise UserError(
            f"cannot build {seq}-token texts with {tokenizer_file}: it has {len(single)} "
            f"one-token words of {len(WORDS)} tried and adds {specials} special tokens"
        )
    words = seq - specials
    texts = [
        " ".join(single[(row + i * (row + 1)) % len(single)] for i in range(words))
        for row in range(batch)
    ]
    lengths = {len(e.ids) for e in tokenizer.encode_batch(texts)}
    if lengths != {seq}:
        raise UserError(f"texts meant to be {seq} tokens tokenise to {sorted(lengths)}")
    return texts


@dataclass(frozen=True)
class TorchSide:
    """What the PyTorch side ran: the precision, the device, and the fp32 matmul settings."""

    device: str
    precision: str
    torch_version: str
    sentence_transformers: str
    allow_tf32: bool
    float32_matmul_precision: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SentenceTransformerSide:
    """``SentenceTransformer(model).half()`` on CUDA (fp32 on the CPU), cut to each depth by
    truncating its encoder's layer list, as sentence-transformers users cut a model."""

    def __init__(self, model: Path, device: str, threads: int | None) -> None:
        import torch

        try:  # it imports scikit-learn, scipy and Pillow too, which a GPU image may lack
            import sentence_transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise UserError(
                f"the PyTorch side needs sentence-transformers, which cannot be imported here "
                f"({exc}): install it with its dependencies, or carry their wheels in .whl/ "
                "(scripts/gpu_checks.sh installs them first)"
            ) from exc

        if threads and device == "cpu":
            torch.set_num_threads(threads)
        self.torch = torch
        self.model = SentenceTransformer(str(model), device=device)
        cuda = device.startswith("cuda")
        if cuda:
            self.model.half()
        self.encoder = self.model[0].auto_model.encoder
        self.layers = list(self.encoder.layer)
        self.side = TorchSide(
            device=device,
            precision="fp16" if cuda else "fp32",
            torch_version=torch.__version__,
            sentence_transformers=sentence_transformers.__version__,
            allow_tf32=bool(torch.backends.cuda.matmul.allow_tf32),
            float32_matmul_precision=torch.get_float32_matmul_precision(),
            why="SentenceTransformer(...).half().encode"
            if cuda
            else "SentenceTransformer(...).encode in fp32: PyTorch has no fast fp16 CPU path",
        )

    def use_depth(self, depth: int) -> None:
        self.encoder.layer = self.torch.nn.ModuleList(self.layers[:depth])

    def encode(self, texts: list[str], batch: int) -> Any:
        return self.model.encode(texts, batch_size=batch, convert_to_numpy=True)


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000.0


@dataclass(frozen=True)
class RacePlan:
    depths: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    seq_lens: tuple[int, ...]
    warmup: int = 3
    rounds: int = 20
    max_seconds: float = 1.0

    def shapes(self) -> list[tuple[int, int, int]]:
        """(depth, batch, seq): the deepest depth first (the targets name it)."""
        return [
            (d, b, s)
            for d in sorted(self.depths, reverse=True)
            for b in self.batch_sizes
            for s in self.seq_lens
        ]


def race_shape(
    runtime: Callable[[], Any], torch_side: Callable[[], Any], plan: RacePlan
) -> tuple[list[float], list[float]]:
    """Warm both, then alternate rounds (order swapped each round); their times in ms."""
    for _ in range(plan.warmup):
        runtime()
        torch_side()
    ours: list[float] = []
    theirs: list[float] = []
    deadline = time.perf_counter() + plan.max_seconds
    while len(ours) < plan.rounds and (len(ours) < MIN_ROUNDS or time.perf_counter() < deadline):
        if len(ours) % 2 == 0:
            ours.append(_timed(runtime))
            theirs.append(_timed(torch_side))
        else:
            theirs.append(_timed(torch_side))
            ours.append(_timed(runtime))
    return ours, theirs


def run_race(
    export: ExportDir,
    model: Path,
    provider: str,
    precision: Precision,
    plan: RacePlan,
    threads: int | None = None,
    on_shape: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every shape of ``plan``, both sides; the result as JSON-ready data."""
    providers = resolve_providers(provider)
    device = "cpu" if providers[0] == CPU else "cuda"
    theirs = SentenceTransformerSide(model, device, threads)
    shapes: list[dict[str, Any]] = []
    embedders: dict[int, Embedder] = {}
    for depth, batch, seq in plan.shapes():
        if depth not in embedders:
            for old in embedders.values():
                old.close()
            # measure=True: on a GPU, fp16 runs past its parity gate (gpu_graph_checks)
            embedders = {
                depth: Embedder(
                    export,
                    precision=precision,
                    providers=providers,
                    depth=depth,
                    intra_op_threads=threads,
                    measure=True,
                )
            }
            theirs.use_depth(depth)
        ours = embedders[depth]
        texts = texts_of_length(export.tokenizer_file, batch, seq)
        t_ours, t_theirs = race_shape(
            functools.partial(ours.encode, texts, batch_size=batch),
            functools.partial(theirs.encode, texts, batch),
            plan,
        )
        row = {
            "runtime": _measurement(RUNTIME, precision.value, depth, batch, seq, t_ours, plan),
            "torch": _measurement(TORCH, theirs.side.precision, depth, batch, seq, t_theirs, plan),
            "ratio": paired_ratios(t_ours, t_theirs).to_dict(),
            "provider": ours.choice.provider,
            "precision_ran": ours.choice.precision.value,
        }
        shapes.append(row)
        if on_shape is not None:
            on_shape(row)
    for old in embedders.values():
        old.close()
    return {
        "provider": providers[0],
        "runtime_precision": precision.value,
        "torch": theirs.side.to_dict(),
        "plan": {**plan.__dict__},
        "shapes": shapes,
    }


def _measurement(
    backend: str,
    precision: str,
    depth: int,
    batch: int,
    seq: int,
    times: Sequence[float],
    plan: RacePlan,
) -> dict[str, Any]:
    return Measurement(
        backend=backend,
        precision=precision,
        depth=depth,
        batch_size=batch,
        seq_len=seq,
        latency=Percentiles.of(times),
        peak_memory_mb=0.0,  # not measured here: see the profiles
        warmup_runs=plan.warmup,
    ).to_dict()


def read_race(path: Path) -> tuple[dict[str, Any], list[Measurement], list[Measurement]]:
    """A race file: its settings, the runtime's measurements and the PyTorch side's."""
    data = json.loads(path.read_text(encoding="utf-8"))
    ours = [Measurement.from_dict(s["runtime"]) for s in data["shapes"]]
    theirs = [Measurement.from_dict(s["torch"]) for s in data["shapes"]]
    return data, ours, theirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.gpu_encode_race")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--provider", default="cuda")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--precision", default="fp16", choices=[p.value for p in Precision])
    parser.add_argument("--depths", default=None)
    parser.add_argument("--batch", default="1,8,32,128")
    parser.add_argument("--seq", default="16,128,256")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    export = open_export(args.export_dir)
    depths = (
        parse_ints(args.depths, name="depths") if args.depths else tuple(export.manifest.depths)
    )
    plan = RacePlan(
        depths=depths,
        batch_sizes=parse_ints(args.batch, name="batch"),
        seq_lens=parse_ints(args.seq, name="seq"),
        warmup=args.warmup,
        rounds=max(args.rounds, MIN_ROUNDS),
        max_seconds=args.max_seconds,
    )
    model = args.model or Path(export.manifest.source.path)

    def show(row: dict[str, Any]) -> None:
        o, t = row["runtime"], row["torch"]
        print(
            f"depth {o['depth']:>2}  {o['batch_size']:>3} x {o['seq_len']:>4}  "
            f"runtime p50 {o['latency_ms_p50']:8.2f} ms  PyTorch p50 {t['latency_ms_p50']:8.2f} ms"
            f"  ratio {row['ratio']['median']:.3f}",
            file=sys.stderr,
            flush=True,
        )

    try:
        result = run_race(
            export, model, args.provider, Precision(args.precision), plan, args.threads, show
        )
    except UserError as exc:
        print(f"gpu_encode_race: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(result['shapes'])} shapes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
