"""A Triton Inference Server model repository from an ese export directory.

    REPO/
      ese/                         front model (Python backend): text in, embedding out
        config.pbtxt
        1/model.py  1/tokenizer.json  1/token_arrays.py   (the runtime's tokenising code)
      ese_depth_04_fp32/           one model per depth and precision
        config.pbtxt
        1/model.onnx  1/weights.bin      (ONNX Runtime; external data beside the graph)
      ese_depth_04_fp16/
        config.pbtxt
        1/model.plan                      (TensorRT, where DIR/engines has that engine)

Graph files are hard-linked from the export when the file system allows, else copied. The
repository is written to a temporary sibling and renamed into place, so a failure leaves
nothing that looks usable; it holds a marker file (``.ese-output.json``), and ``--force``
replaces only a repository that holds one.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ese.console import check_output_dir, staged_output_dir
from ese.console.output_kinds import TRITON_REPOSITORY
from ese.format import ExportDir, GraphEntry, Precision, open_export
from ese.format.errors import UserError
from ese.runtime import Budget, Choice
from ese.runtime.tokens import TextTokenizer
from ese.serving.triton import front_model
from ese.serving.triton.batching import preferred_batch_sizes
from ese.serving.triton.engines import Engine, find_engines
from ese.serving.triton.model_configs import (
    ONNX_FILE,
    ONNX_PLATFORM,
    PLAN_FILE,
    PYTHON_FILE,
    TENSORRT_PLATFORM,
    BatchingOptions,
    Scheduling,
    front_config,
    graph_config,
    graph_model_name,
)
from ese.serving.triton.pbtxt import render
from ese.serving.triton.routing import route, target_profile

CONFIG_FILE = "config.pbtxt"
VERSION = "1"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NO_ENGINES = "none"


@dataclass(frozen=True)
class RepositoryOptions:
    """What to write: model name prefix, batching, the budget that routes, the target device.

    ``engines`` names the engine folder under ``DIR/engines`` (None: the only one, if any;
    ``"none"``: ONNX only); ``server_trt`` the serving TensorRT's exact version, required when
    engines are written. ``profile`` is the target device's id under ``DIR/profiles``.
    """

    name: str = "ese"
    batching: BatchingOptions = field(default_factory=BatchingOptions)
    budget: Budget | None = None
    precisions: tuple[Precision, ...] | None = None
    profile: str | None = None
    engines: str | None = None
    server_trt: str | None = None
    force: bool = False

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise UserError(
                f"model name {self.name!r} must start with a letter or digit and hold only "
                "letters, digits, '_', '.' and '-' (Triton's rule)"
            )


@dataclass(frozen=True)
class ModelEntry:
    """One model written to the repository."""

    name: str
    platform: str
    depth: int | None = None
    precision: Precision | None = None
    preferred: tuple[int, ...] = ()


@dataclass(frozen=True)
class Repository:
    """What was written: the root, the front model, every graph model, and the routing."""

    root: Path
    front: ModelEntry
    graphs: tuple[ModelEntry, ...]
    choice: Choice

    @property
    def models(self) -> tuple[ModelEntry, ...]:
        return (self.front, *self.graphs)


def repository_from_export(
    export_dir: str | Path, out: str | Path, options: RepositoryOptions | None = None
) -> Repository:
    """Write a Triton model repository for ``export_dir`` at ``out``."""
    options = options or RepositoryOptions()
    out = Path(out)
    export = open_export(export_dir)
    inputs = [("the export directory", export.root)]
    check_output_dir(out, TRITON_REPOSITORY, force=options.force, inputs=inputs)
    graphs = _graphs(export, options.precisions)
    profile = target_profile(export, options.profile)
    choice = route(graphs, profile, options.budget, sorted({g.precision for g in graphs}))
    engines = (
        {}
        if options.engines == NO_ENGINES
        else find_engines(export.root, options.engines, export.manifest, options.server_trt)
    )
    batching = options.batching
    seq_len = (options.budget or Budget()).seq_len
    entries = profile.entries if profile is not None else ()

    def preferred(g: GraphEntry) -> tuple[int, ...]:
        return preferred_batch_sizes(
            entries, g.depth, g.precision, max_batch_size=batching.max_batch_size, seq_len=seq_len
        )

    with staged_output_dir(out, TRITON_REPOSITORY, force=options.force, inputs=inputs) as staging:
        written = []
        for graph in graphs:
            name = graph_model_name(options.name, graph.depth, graph.precision)
            engine = engines.get(graph.key)
            platform = TENSORRT_PLATFORM if engine else ONNX_PLATFORM
            version = staging / name / VERSION
            version.mkdir(parents=True)
            if engine is not None:
                _place(engine.path, version / PLAN_FILE)
            else:
                _place(export.path(graph.file), version / ONNX_FILE)
                for extra in graph.external_data:
                    _place(export.path(extra), version / Path(extra.path).name)
            scheduling = Scheduling(batching, preferred(graph))
            config = graph_config(
                name,
                platform=platform,
                dims=graph.dims,
                uses_token_type_ids=export.manifest.source.uses_token_type_ids,
                scheduling=scheduling.within(engine.max_batch) if engine else scheduling,
                parameters={"ese_depth": str(graph.depth), "ese_precision": graph.precision.value},
            )
            (staging / name / CONFIG_FILE).write_text(render(config), encoding="utf-8")
            entry = ModelEntry(name, platform, graph.depth, graph.precision, preferred(graph))
            written.append(entry)
        chosen = export.manifest.graph(choice.depth, choice.precision)
        front = _write_front(
            staging, export, options, choice, preferred(chosen), engines.get(chosen.key)
        )
    return Repository(root=out, front=front, graphs=tuple(written), choice=choice)


def _graphs(export: ExportDir, precisions: Sequence[Precision] | None) -> list[GraphEntry]:
    graphs = [g for g in export.manifest.graphs if precisions is None or g.precision in precisions]
    if not graphs:
        have = ", ".join(sorted({g.precision.value for g in export.manifest.graphs}))
        wanted = ", ".join(p.value for p in precisions or ())
        raise UserError(f"the export has no graph at {wanted}; it has: {have}")
    return sorted(graphs, key=lambda g: (g.depth, g.precision.value))


def _write_front(
    staging: Path,
    export: ExportDir,
    options: RepositoryOptions,
    choice: Choice,
    preferred: tuple[int, ...],
    engine: Engine | None,
) -> ModelEntry:
    """The front model; routed to an engine, it keeps within the engine's shape ranges."""
    source = export.manifest.source
    tokenizer = TextTokenizer(export.tokenizer_file, source.max_seq_length)
    scheduling = Scheduling(options.batching, preferred)
    max_length = tokenizer.max_length
    if engine is not None:
        max_length = min(max_length, engine.max_seq)
        scheduling = scheduling.within(engine.max_batch)
    version = staging / options.name / VERSION
    version.mkdir(parents=True)
    shutil.copyfile(front_model.__file__, version / PYTHON_FILE)
    shutil.copyfile(export.tokenizer_file, version / front_model.TOKENIZER_FILE)
    shutil.copyfile(TextTokenizer.standalone_file, version / front_model.TOKEN_ARRAYS_FILE)
    parameters = {
        "graph_model": graph_model_name(options.name, choice.depth, choice.precision),
        "depth": str(choice.depth),
        "precision": choice.precision.value,
        "dims": str(choice.dims),
        "max_dims": str(_widest(choice, options.budget)),
        "normalize": "true",
        "max_length": str(max_length),
        "char_limit": str(tokenizer.char_limit),
        "pad_id": str(tokenizer.pad_id),
        "token_type_ids": "true" if source.uses_token_type_ids else "false",
        "budget": choice.budget.describe(),
        "why": choice.reason,
        "profile": choice.profile,
    }
    config = front_config(
        options.name,
        scheduling=scheduling,
        parameters=parameters,
    )
    (staging / options.name / CONFIG_FILE).write_text(render(config), encoding="utf-8")
    return ModelEntry(options.name, "python", choice.depth, choice.precision, scheduling.preferred)


def _widest(choice: Choice, budget: Budget | None) -> int:
    """The widest ``dims`` a request may ask for: the graph's width, or the chosen one when
    the budget bounds the vector size (as ``Embedder.max_dims``)."""
    return choice.graph_dims if budget is None or budget.dims_cap is None else choice.dims


def _place(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target``, or copy it where links cannot be made."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
