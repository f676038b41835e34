"""One ese-train run from options to a published model directory (the CLI's library half)."""

from __future__ import annotations

import argparse
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from ese.console import Inputs, check_output_dir, options_from_args, staged_output_dir, write_marker
from ese.exporter.source.load import bundled_model_path
from ese.format.errors import UserError
from ese.training.card import build_card, dataset_entry
from ese.training.checkpoint import CHECKPOINT
from ese.training.evaluate import format_grid
from ese.training.loop.batches import BatchPlan, UnlabelledPlan
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.loop.objective import ESEConfig, ESEObjective, dataset_texts
from ese.training.loop.pca_target import TargetKind
from ese.training.loop.peer import Matryoshka2dObjective
from ese.training.loop.teacher import Teacher
from ese.training.loop.trainer import Callbacks, Objective, Trainer, TrainSettings, settings_json
from ese.training.output import (
    TOOL,
    TRAINED_MODEL,
    WORK_DIR,
    check_out,
    save_model_dir,
    work_dir_for,
    write_card,
)
from ese.training.readers import (
    Dataset,
    DistillTexts,
    read_dataset,
    read_distill_texts,
    read_scored_pairs,
)
from ese.training.safe_weights import require_safetensors


@dataclass(frozen=True)
class RunOptions:
    model: Path
    train: tuple[Path, ...]
    formats: tuple[str | None, ...]
    dev: Path | None
    out: Path
    method: str
    ese: ESEConfig
    epochs: float
    steps: int | None
    settings: TrainSettings
    force: bool = False
    resume: bool = False
    stop_after: int | None = None
    keep_work: bool = False
    device: str = "auto"
    threads: int | None = None
    teacher: Path | None = None  # with_teacher and None: the base model itself
    with_teacher: bool = False  # --teacher [DIR]: opt-in until the selection rule chose weights
    no_teacher: bool = False
    distill_text: tuple[Path, ...] = ()  # (): the exporter's calibration corpus

    @staticmethod
    def from_args(args: argparse.Namespace) -> RunOptions:
        formats = args.format or [None]
        if len(formats) == 1:
            formats = formats * len(args.train)
        if len(formats) != len(args.train):
            raise UserError(
                f"{len(formats)} --format values for {len(args.train)} --train files: give one "
                "(for all) or one per file"
            )
        ese = options_from_args(
            ESEConfig, args, widths=tuple(args.widths), target=TargetKind(args.target)
        )
        settings = options_from_args(
            TrainSettings,
            args,
            steps=1,  # replaced once the batch plan is known
            eval_at_start=not args.no_start_eval,
            eval_widths=tuple(sorted({*args.widths, 32, 64, 128})),
            layer_lr_scales=tuple(args.layer_lr_scales or ()),
        )
        return options_from_args(
            RunOptions,
            args,
            model=Path(args.model) if args.model else bundled_model_path(),
            train=tuple(args.train),
            formats=tuple(formats),
            ese=ese,
            settings=settings,
            teacher=Path(args.teacher) if args.teacher else None,
            with_teacher=args.teacher is not None,
            distill_text=tuple(args.distill_text or ()),
        )

    @property
    def uses_teacher(self) -> bool:
        """ESE has the teacher term with --teacher; the peer and --reference never do."""
        return (
            self.method == "ese"
            and not self.ese.reference
            and self.with_teacher
            and not self.no_teacher
        )

    def check_teacher_options(self) -> None:
        asked = self.with_teacher or self.distill_text or self.ese.teacher_prefixes
        if self.uses_teacher or not asked:
            return
        if self.with_teacher:
            given = "--teacher"
        elif self.distill_text:
            given = "--distill-text"
        else:
            given = "--teacher-prefixes"
        if self.no_teacher:
            why = "--no-teacher"
        elif self.method != "ese":
            why = f"--method {self.method} (the peer has no teacher term)"
        elif self.ese.reference:
            why = "--reference (the authors' code has no teacher term)"
        else:
            why = "no --teacher (it shapes the teacher term): add --teacher"
        raise UserError(f"{given} has no use with {why}: drop one of them")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"--device {name!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: this torch sees no CUDA device; use --device cpu")
    return device


def load_model(path: Path, device: torch.device) -> SentenceTransformer:
    if not path.is_dir() or not (path / "config.json").is_file():
        raise UserError(f"{path} is not a model directory (no config.json); pass a local directory")
    require_safetensors(path)
    try:
        return SentenceTransformer(
            str(path),
            device=str(device),
            local_files_only=True,
            trust_remote_code=False,
            model_kwargs={"use_safetensors": True},
        )
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load {path} with sentence-transformers: {exc}") from exc


def make_objective(
    method: str,
    encoder: LayerwiseEncoder,
    ese: ESEConfig,
    teacher: Teacher | None = None,
    distill_texts: tuple[DistillTexts, ...] = (),
) -> Objective:
    if method == "matryoshka2d":
        return Matryoshka2dObjective(
            encoder, tuple(w for w in ese.widths if w < encoder.hidden_size)
        )
    return ESEObjective(encoder, ese, teacher, distill_texts)


def load_teacher(options: RunOptions, device: torch.device) -> Teacher | None:
    """The frozen teacher (--teacher, default the base model), or None without one."""
    if not options.uses_teacher:
        return None
    path = options.teacher or options.model
    return Teacher(LayerwiseEncoder(load_model(path, device)), str(path))


def unlabelled_texts(distill: tuple[DistillTexts, ...]) -> tuple[str, ...]:
    """The --distill-text lines of every file, in order, each distinct text once."""
    return tuple(dict.fromkeys(t for texts in distill for t in texts.texts))


def _inputs(options: RunOptions) -> Inputs:
    """What the run reads: --out may neither be nor hold any of it."""
    inputs = [("the base model", options.model)]
    inputs += [("the --train file", path) for path in options.train]
    if options.dev is not None:
        inputs.append(("the --dev file", options.dev))
    if options.teacher is not None:
        inputs.append(("the --teacher model", options.teacher))
    inputs += [("the --distill-text file", path) for path in options.distill_text]
    return inputs


def _prepare_workdir(options: RunOptions, inputs: Inputs) -> Path:
    """Create the work directory (``run_training`` has checked ``--out`` already).

    ``--force`` drops an unfinished run's work directory, and only one ese-train made.
    """
    work = work_dir_for(options.out)
    if os.path.lexists(work) and not options.resume:
        if not options.force:
            raise UserError(
                f"an unfinished run left {work}: add --resume to continue it, or --force to drop it"
            )
        check_output_dir(work, WORK_DIR, force=True, inputs=inputs)
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    write_marker(work, TOOL)
    return work


def run_training(options: RunOptions, callbacks: Callbacks | None = None) -> str:
    """Train, evaluate and publish; returns a short human summary."""
    options.check_teacher_options()
    train: list[Dataset] = [
        read_dataset(p, f) for p, f in zip(options.train, options.formats, strict=True)
    ]
    dev = read_scored_pairs(options.dev) if options.dev else None
    distill: tuple[DistillTexts, ...] = ()
    if options.uses_teacher:
        paths: tuple[Path | None, ...] = options.distill_text or (None,)
        distill = tuple(read_distill_texts(path) for path in paths)
    inputs = _inputs(options)
    check_out(options.out, options.force, inputs)
    device = _device(options.device)
    if options.threads:
        torch.set_num_threads(options.threads)
    model = load_model(options.model, device)
    encoder = LayerwiseEncoder(model)
    teacher = load_teacher(options, device)
    objective = make_objective(options.method, encoder, options.ese, teacher, distill)
    settings = options.settings
    extra = UnlabelledPlan(unlabelled_texts(distill), settings.distill_batch, settings.seed)
    plan = BatchPlan(train, settings.batch_size, settings.seed, extra)
    steps = options.steps or max(1, round(options.epochs * plan.steps_per_epoch))
    settings = replace(settings, steps=steps, distill_batch=extra.per_batch)
    fingerprint = {
        "model": str(options.model),
        "objective": objective.describe(),
        "settings": settings_json(settings),
        "train": [dataset_entry(t) for t in train],
    }
    work = work_dir_for(options.out)
    trainer = Trainer(  # checks the settings against the model before anything is written
        encoder, objective, plan, settings, work, dev, fingerprint, callbacks or Callbacks()
    )
    if teacher is not None:  # every target, once, before the first step
        teacher.prepare([*dataset_texts(train), *extra.texts])
    _prepare_workdir(options, inputs)
    started = time.perf_counter()
    try:
        result = trainer.run(resume=options.resume, stop_after=options.stop_after)
    except BaseException:
        if not (work / CHECKPOINT).is_dir():  # nothing to resume from: leave nothing
            shutil.rmtree(work, ignore_errors=True)
        raise
    if not result.finished:
        return f"stopped after step {result.steps} of {steps}; continue with --resume ({work})"
    with staged_output_dir(
        options.out, TRAINED_MODEL, force=options.force, inputs=inputs
    ) as staged:
        save_model_dir(model, staged)
        card = build_card(
            base_model=str(options.model),
            objective=objective.describe(),
            settings=settings_json(settings),
            train=train,
            dev=dev,
            result=result,
            steps_per_epoch=plan.steps_per_epoch,
            device=str(device),
            seconds=time.perf_counter() - started,
        )
        write_card(staged, card)
    if not options.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    summary = f"wrote {options.out} ({result.steps} steps, {result.seconds / 60:.1f} min)"
    if result.evaluations:
        summary += f"\nSTS dev, Spearman x 100 (step {result.evaluations[-1].step}):\n"
        summary += format_grid(result.evaluations[-1].grid)
    return summary
