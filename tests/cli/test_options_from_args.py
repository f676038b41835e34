"""Options records built from parsed flags (``options_from_args``): same-named flags are read,
converted and computed fields are the command's, fields without a flag keep their default.
The ese-train and ese-serve records are checked field by field against real parses."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from ese.console import options_from_args


@dataclass(frozen=True)
class _Options:
    port: int
    name: str = "ese"
    workers: int = 1
    timeout_s: int = 5


def test_flags_fill_same_named_fields_and_converted_ones_win() -> None:
    args = argparse.Namespace(port=9000, name="x", workers=None, other="ignored")
    options = options_from_args(_Options, args, workers=3)
    # workers: the command's computed value, not the raw flag; timeout_s: no flag, its default
    assert options == _Options(port=9000, name="x", workers=3, timeout_s=5)


def test_a_required_field_without_flag_or_value_is_the_commands_bug() -> None:
    with pytest.raises(TypeError, match="port"):
        options_from_args(_Options, argparse.Namespace(name="x"))


def test_ese_serve_options_from_its_flags() -> None:
    from ese.serving.local.server import ServeOptions
    from ese.serving.serve_cli import _parser

    flags = "--port 9000 --grpc-port 9001 --metrics-port 9002 --model-name m --max-batch-size 7"
    flags += " --max-queue-delay-us 5 --instances 3 --workers 4 --triton-log t.log"
    flags += " --max-queue-size 9 --queue-timeout-ms 11 --max-request-bytes 13"
    args = _parser().parse_args(["DIR", *flags.split()])
    options = options_from_args(
        ServeOptions, args, preferred_batch_sizes=(7,), workers=2, log_file=args.triton_log
    )
    assert options == ServeOptions(
        http_port=9000,
        grpc_port=9001,
        metrics_port=9002,
        model_name="m",
        max_batch_size=7,
        max_queue_delay_us=5,
        max_queue_size=9,
        queue_timeout_ms=11,
        max_request_bytes=13,
        preferred_batch_sizes=(7,),
        instances=3,
        workers=2,
        log_file=Path("t.log"),
    )


def test_ese_train_run_options_from_every_flag() -> None:
    from ese.training.cli import build_parser
    from ese.training.loop.objective import ESEConfig
    from ese.training.loop.pca_target import TargetKind
    from ese.training.loop.trainer import TrainSettings
    from ese.training.run import RunOptions

    flags = "M --train a.tsv --train b.tsv --format sts --dev d.csv --out o --force"
    flags += " --method matryoshka2d --reference --epochs 2.5 --steps 7 --batch-size 3 --lr 0.1"
    flags += " --layer-lr-scales 1,2 --warmup-ratio 0.2 --k 8 --temperature 2 --widths 4,8"
    flags += " --target batch --shallow-weight 0.5 --distill-weight 3 --teacher T --no-teacher"
    flags += " --teacher-weight 4 --teacher-sim-weight 5 --teacher-prefixes"
    flags += " --distill-text x.txt --distill-batch 6"
    flags += " --seed 9 --eval-every 11 --no-start-eval --checkpoint-every 13 --resume"
    flags += " --stop-after 14 --keep-work --device cpu --threads 2"
    options = RunOptions.from_args(build_parser().parse_args(flags.split()))
    ese = ESEConfig(8, 2.0, (4, 8), True, TargetKind.BATCH, 0.5, 3.0, 4.0, 5.0, True)
    settings = TrainSettings(
        steps=1,  # the batch plan sets it
        batch_size=3,
        lr=0.1,
        warmup_ratio=0.2,
        seed=9,
        eval_every=11,
        eval_at_start=False,
        checkpoint_every=13,
        eval_widths=(4, 8, 32, 64, 128),
        layer_lr_scales=(1.0, 2.0),
        distill_batch=6,
    )
    assert options == RunOptions(
        model=Path("M"),
        train=(Path("a.tsv"), Path("b.tsv")),
        formats=("sts", "sts"),
        dev=Path("d.csv"),
        out=Path("o"),
        method="matryoshka2d",
        ese=ese,
        epochs=2.5,
        steps=7,
        settings=settings,
        force=True,
        resume=True,
        stop_after=14,
        keep_work=True,
        device="cpu",
        threads=2,
        teacher=Path("T"),
        with_teacher=True,
        no_teacher=True,
        distill_text=(Path("x.txt"),),
    )
