"""``ese-bench profile``: measure, show progress, write the profile (also after Ctrl-C)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ese.benchmarks.grid import parse_ints, pick_depths
from ese.benchmarks.latency.measurement import Measurement
from ese.benchmarks.latency.profile_store import (
    MeasuredProfile,
    torch_device_id,
    write_runtime_profile,
    write_torch_profile,
)
from ese.benchmarks.latency.profiler import Plan, ProfileRun, profile
from ese.benchmarks.report.tables import profile_table
from ese.console import ExitCode, comma_items
from ese.format import ExportDir, Manifest, Precision, open_export
from ese.format.errors import BadInputError, InternalError, UserError
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.providers import CPU, CUDA, short_name
from ese.runtime.backends.providers import resolve as resolve_providers
from ese.runtime.device import this_device
from ese.runtime.machine import default_threads

DEFAULT_SEQ_LENS = (16, 64, 128, 256)


def _progress(index: int, total: int, m: Measurement) -> None:
    print(
        f"[{index:>3}/{total}] depth {m.depth:>2}  batch {m.batch_size:>3}  seq {m.seq_len:>4}  "
        f"p50 {m.latency.p50:8.2f} ms  p99 {m.latency.p99:8.2f} ms  "
        f"{m.sentences_per_s:9,.0f} sent/s  {m.peak_memory_mb:7.1f} MB",
        file=sys.stderr,
        flush=True,
    )


def nothing_measured(result: ProfileRun) -> int:
    """A run that measured no shape: interrupted before the first one (exit 130), else our bug
    (every plan has at least one shape), never an exit code outside the shared table."""
    if result.interrupted:
        print("interrupted before the first shape; no profile written", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    raise InternalError(f"{result.planned} shape(s) planned, none measured and no interruption")


def _ort_precisions(spec: str | None, provider: str, manifest: Manifest) -> list[str]:
    """The graph precisions to profile: asked for, else fp32 (on CUDA: fp16 and fp32)."""
    if spec:
        names = comma_items(spec, flag="--precision")
        known = [p.value for p in Precision]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise BadInputError(
                f"--precision {spec!r}: {', '.join(unknown)} unknown to onnxruntime graphs; "
                f"choose from {', '.join(known)}"
            )
        return list(names)
    if provider != CUDA:
        return ["fp32"]
    present = {g.precision.value for g in manifest.graphs}
    return [p for p in ("fp16", "fp32") if p in present] or ["fp32"]


def _profile_onnxruntime(
    export: ExportDir,
    plan: Plan,
    providers: list[str],
    precision: str,
    threads: int,
    how: str,
    quiet: bool,
) -> tuple[Path | None, ProfileRun]:
    """Profile one precision's graphs; write profiles/<device-id>.json (None: nothing ran)."""
    from ese.benchmarks.latency.ort_backend import OrtBackend

    device = this_device(providers[0], threads)
    device_id = device.device_id(precision)
    backend = OrtBackend(export, precision, providers, Threads(intra_op=threads))
    print(
        f"profiling {export.root} on {device_id} ({len(plan.shapes())} shapes, {how})",
        file=sys.stderr,
    )
    result = profile(backend, plan, None if quiet else _progress)
    if not result.measurements:
        return None, result
    on = short_name(providers[0])
    path = write_runtime_profile(
        export.root,
        MeasuredProfile(
            device_id=device_id,
            device=device.to_dict(),
            measurements=result.measurements,
            measured_by=f"ese-bench profile (onnxruntime {precision} on {on}, {how})",
        ),
    )
    return path, result


def _seq_lens(spec: str | None, longest: int) -> tuple[int, ...]:
    """The sequence lengths to profile: those asked for, each within the model's ``longest``
    tokens (the runtime truncates inputs there, and the graph may have no positions beyond);
    by default 16, 64, 128, 256 within it, and ``longest`` when it cut one."""
    if spec is None:
        within = tuple(s for s in DEFAULT_SEQ_LENS if s <= longest)
        return within if len(within) == len(DEFAULT_SEQ_LENS) else (*within, longest)
    asked = parse_ints(spec, name="seq")
    too_long = [s for s in asked if s > longest]
    if too_long:
        raise BadInputError(
            f"--seq {','.join(map(str, too_long))} exceed the model's {longest} tokens (longer "
            f"inputs are truncated before they reach a graph): pass --seq values up to {longest}"
        )
    return asked


def run(args: argparse.Namespace) -> int:
    export = open_export(args.export_dir)
    manifest = export.manifest
    depths = pick_depths(
        None if args.depths is None else parse_ints(args.depths, name="depths"), manifest.depths
    )
    longest = manifest.source.max_seq_length
    plan = Plan(
        depths=depths,
        batch_sizes=parse_ints(args.batch, name="batch"),
        seq_lens=_seq_lens(args.seq, longest),
        warmup=args.warmup,
        runs=args.runs,
        max_seconds=args.max_seconds,
    )
    threads = args.threads or default_threads()
    how = f"{plan.warmup} warm-up + up to {plan.runs} timed runs per shape"
    if args.backend == "onnxruntime":
        providers = resolve_providers(args.provider)
        runs = []
        for precision in _ort_precisions(args.precision, providers[0], manifest):
            path, result = _profile_onnxruntime(
                export, plan, providers, precision, threads, how, args.quiet
            )
            runs.append((path, result))
            if result.interrupted or not result.measurements:
                break
        if not runs[-1][1].measurements:
            return nothing_measured(runs[-1][1])
        for path, result in runs[:-1]:
            print(profile_table(result.measurements))
            print(f"\nwrote {path} ({result.planned} shapes)", file=sys.stderr)
        path, result = runs[-1]
    else:
        from ese.benchmarks.latency.torch_backend import TorchBackend, require_torch

        torch = require_torch()
        target = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        precision = args.precision or ("fp16" if target.startswith("cuda") else "fp32")
        model = args.model or Path(manifest.source.path)
        if not model.is_dir():
            raise UserError(
                f"--backend torch needs the source model; {model} is not a directory here: "
                "pass --model PATH"
            )
        backend_t = TorchBackend(
            model,
            precision=precision,
            device=target,
            pooling=manifest.source.pooling,
            normalize=manifest.source.normalize,
            uses_token_type_ids=manifest.source.uses_token_type_ids,
            threads=threads,
        )
        hardware = backend_t.device_name if backend_t.cuda else this_device(CPU).hardware
        device_id = torch_device_id(hardware, target, precision, threads)
        device_info = {
            "backend": "torch",
            "torch": torch.__version__,
            "device": target,
            "hardware": hardware,
            "precision": precision,
            "threads": threads,
            "attention": "sdpa",
        }
        print(
            f"profiling PyTorch modules of {model} on {device_id} "
            f"({len(plan.shapes())} shapes, {how})",
            file=sys.stderr,
        )
        try:
            result = profile(backend_t, plan, None if args.quiet else _progress)
        finally:
            backend_t.close()
        if not result.measurements:
            return nothing_measured(result)
        path = write_torch_profile(
            export.root,
            MeasuredProfile(
                device_id=device_id,
                device=device_info,
                measurements=result.measurements,
                measured_by=f"ese-bench profile --backend torch ({precision} on {target}, {how})",
            ),
        )
    print(profile_table(result.measurements))
    state = (
        f"interrupted after {len(result.measurements)} of {result.planned} shapes"
        if result.interrupted
        else f"{result.planned} shapes"
    )
    print(f"\nwrote {path} ({state}, {result.seconds:.0f} s)", file=sys.stderr)
    return 130 if result.interrupted else 0
