"""Embedder: open an export, choose the graph and width that fit a budget, embed text."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ese.format.contract import Precision
from ese.format.errors import ExportDirError, IntegrityError, ProfileError
from ese.format.export_dir import ExportDir, open_export
from ese.format.graph_vocabulary import ProtobufError, vocabulary_table
from ese.format.manifest import GraphEntry, Manifest
from ese.format.profile import DeviceProfile
from ese.runtime.backends import providers as prov
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.registry import Backend, Runner, backend_for, open_runner
from ese.runtime.choice.backend import backend_candidates, fastest_backend, with_backend_note
from ese.runtime.choice.budget import Budget
from ese.runtime.choice.chosen import Choice, with_source_vectors
from ese.runtime.choice.device_measurement import measure_device
from ese.runtime.choice.fp16_gate import fp16_parity, with_fp32_quality
from ese.runtime.choice.profile_cache import Measured, cached_measurements, load_profile
from ese.runtime.choice.select import select
from ese.runtime.device import this_device
from ese.runtime.encode import DEFAULT_CHUNK, check_texts, encode_texts
from ese.runtime.errors import BudgetError, ClosedError, ProviderError
from ese.runtime.machine import default_threads
from ese.runtime.tokens import TextTokenizer

PrecisionSpec = str | Precision | Iterable[str | Precision] | None


class Embedder:
    """Sentence embeddings from an ese export, within a device budget.

    ``Embedder(dir)`` runs the graph of best measured quality (the deepest when quality was
    never measured) at its full width: only a bound of the budget (``max_dims``,
    ``max_vector_bytes``, or a ``min_quality`` floor, which takes the narrowest width that
    meets it) narrows the vector. With a ``Budget`` it runs the highest-quality (depth, dims)
    that fits every bound, using this device's profile (measured briefly and cached under
    ``dir/profiles/`` when there is none for the budget's shape). ``precision`` restricts the
    graphs considered (default: those suited to the provider, fp32 and int8 on CPU);
    ``providers`` is ``'auto'``, a preference list of ONNX Runtime providers (``'cpu'``,
    ``'cuda'``, ``'tensorrt'`` or full names), or one backend of the registry by name
    (``'openvino'``, ``'openvino-bf16'``, ``'tensorrt-engine'``). ``depth`` pins one depth
    (the width is still chosen within the budget). ``measure=False`` refuses to measure and
    needs a profile instead; ``measure_seconds`` bounds the measurement. ``path`` may also be
    an export already opened with ``ese.format.open_export`` (``verify`` then does not
    apply). ``encode`` is safe to call from many threads at once.

    The constructor takes three named steps: open the export (verify it), choose (from this
    device's profile and the quality grid; measuring the device, when its profile lacks the
    budget's shape, is the explicit step :meth:`_device_figures`, and the choice's profile
    line says "measured now"), and run (open the chosen graph on the chosen backend).
    """

    def __init__(
        self,
        path: str | Path | ExportDir,
        budget: Budget | None = None,
        precision: PrecisionSpec = None,
        providers: prov.ProviderSpec = None,
        *,
        depth: int | None = None,
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
        measure: bool = True,
        measure_seconds: float = 3.0,
        verify: bool = True,
    ) -> None:
        if budget is not None and not isinstance(budget, Budget):
            raise TypeError(f"budget must be an ese.runtime.Budget, not {type(budget).__name__}")
        if isinstance(measure_seconds, bool) or not (
            isinstance(measure_seconds, (int, float)) and 0 < measure_seconds < float("inf")
        ):
            raise ValueError(f"measure_seconds={measure_seconds!r} must be a positive number")
        # 1. Open the export: its manifest read, every listed file's size and sha256 checked.
        self.export = path if isinstance(path, ExportDir) else open_export(path, verify=verify)
        source = self.export.manifest.source
        self.requested_providers = prov.resolve(providers)
        cpu_threads = intra_op_threads
        if cpu_threads is None and prov.on_cpu(self.requested_providers[0]):
            cpu_threads = default_threads()
        self.threads = Threads(intra_op=cpu_threads, inter_op=inter_op_threads)
        self._tokenizer = TextTokenizer(self.export.tokenizer_file, source.max_seq_length)
        budget, note = _capped(budget or Budget(), source.max_seq_length)
        self._dims_cap = budget.dims_cap  # None: encode(dims=...) may ask up to the graph's width
        self._may_measure = measure  # also the fp16 gate on a GPU (runtime/choice/fp16_gate.py)
        # 2. Choose (depth, dims, precision, backend) from this device's profile and the
        # export's quality grid; a profile this device lacks is measured now, and said so.
        auto = providers is None or (isinstance(providers, str) and providers.lower() == "auto")
        self.requested_providers, choice = self._compare_backends(
            backend_candidates(self.requested_providers, auto=auto),
            budget,
            note,
            precision,
            depth,
            auto=auto,
            measure=measure,
            seconds=measure_seconds,
        )
        # 3. Run: open the chosen graph on the chosen backend.
        self._runner = self._open_chosen(choice)
        self.choice: Choice = self._as_running(choice)

    def _open_chosen(self, choice: Choice) -> Runner:
        """The runner of the chosen graph, its output width checked against the manifest."""
        graph = self.export.manifest.graph(choice.depth, choice.precision)
        runner = open_runner(self.export, graph, self.requested_providers, self.threads)
        if runner.width is not None and runner.width != graph.dims:
            raise IntegrityError(
                f"{graph.file.path} outputs {runner.width} dims, the manifest says "
                f"{graph.dims}: re-export the model"
            )
        return runner

    def _as_running(self, choice: Choice) -> Choice:
        """The choice as it runs: the provider really active, CUDA graphs on or off and why,
        and where the graph's vectors come from."""
        running = self._runner.check_provider()
        note = self._runner.running_note()  # e.g. why small batches replay CUDA graphs or not
        if note:
            choice = replace(choice, reason=f"{choice.reason}; {note}")
        return with_source_vectors(replace(choice, provider=running), self.export.manifest)

    def _device_figures(
        self,
        graphs: Sequence[GraphEntry],
        on: list[str],
        budget: Budget,
        *,
        measure: bool,
        seconds: float,
    ) -> Measured:
        """This device's latency and memory for ``graphs`` at the budget's shape: from its
        cached profile; the graphs it lacks (and thin ones, when measuring is allowed) are
        measured now, an explicit step the choice's profile line names ("measured now")."""
        device = this_device(on[0], self.threads.intra_op)
        shape = {"batch_size": budget.batch_size, "seq_len": budget.seq_len}
        cached = cached_measurements(self.export, graphs, device, **shape)
        if cached.missing and not measure:
            raise cached.refusal(self.export, device, **shape)
        wanted = [*cached.missing, *cached.thin] if measure else []
        if not wanted:
            return cached.measured()
        fresh = measure_device(
            self.export,
            wanted,
            device,
            **shape,
            providers=on,
            threads=self.threads,
            vocab_size=self._tokenizer.vocab_size,
            seconds=seconds,
        )
        return cached.with_measured(fresh.entries, fresh.source).measured()

    def _compare_backends(
        self,
        backends: list[list[str]],
        budget: Budget,
        note: str,
        precision: PrecisionSpec,
        depth: int | None,
        *,
        auto: bool,
        measure: bool,
        seconds: float,
    ) -> tuple[list[str], Choice]:
        """The choice on each competing backend and the winner (runtime/choice/backend.py).

        The first backend is measured when the budget needs it, as ever; the others are
        measured too when their family was asked for by name. Under ``auto`` they compete only
        with the profiles this device already has (naming them with a budget, or
        ``ese-bench``, writes them), and so does every backend when the budget needs no
        measurement: a backend without a profile stays out, and if the first lacks one it wins.
        """
        speed = budget.bounds_speed_or_memory
        options: list[tuple[list[str], Choice]] = []
        for index, on in enumerate(backends):
            measured_now = speed and (index == 0 or not auto)
            lookup = not measured_now and len(backends) > 1
            try:
                chosen = self._choose_on(
                    on,
                    budget,
                    note,
                    precision,
                    depth,
                    measure=measure and measured_now,
                    use_profile=speed or lookup,
                    seconds=seconds,
                )
            except (ProfileError, BudgetError, ProviderError):
                if index == 0 and not lookup:
                    raise
                continue  # no profile, no graph of its precision: it does not compete
            options.append((on, chosen))
        if not options or options[0][0] != backends[0]:
            plain = self._choose_on(
                backends[0],
                budget,
                note,
                precision,
                depth,
                measure=measure,
                use_profile=speed,
                seconds=seconds,
            )
            return backends[0], plain
        winner = fastest_backend(options)
        gate = ""
        stand_in = backend_for(winner[0][0])
        if stand_in.stand_in_gate is not None:  # its win stands only past its parity gate
            graph = self.export.manifest.graph(winner[1].depth, winner[1].precision)
            parity = stand_in.stand_in_gate(self.export, graph, self._tokenizer, self.threads)
            gate = f"; {parity.describe()}"
            if not parity.passed:
                # by provider list: fastest_backend returns a copy, never the same tuple
                options = [o for o in options if o[0] != winner[0]]
                if not options:
                    raise ProviderError(
                        stand_in.gate_refusal.format(
                            graph=graph.file.path, parity=parity.describe()
                        )
                    )
                winner = fastest_backend(options)
        chosen = with_backend_note(winner, options)
        return winner[0], replace(chosen, reason=chosen.reason + gate)

    def _choose_on(
        self,
        on: list[str],
        budget: Budget,
        note: str,
        precision: PrecisionSpec,
        depth: int | None,
        *,
        measure: bool,
        use_profile: bool,
        seconds: float,
        allowed: tuple[Precision, ...] | None = None,
    ) -> Choice:
        """The selection on one backend: its precisions, its graphs, its device profile.

        On a GPU provider an fp16 choice stands only past its parity gate on this GPU
        (runtime/choice/fp16_gate.py), carrying its fp32 graph's quality grid; below the gate,
        or unmeasured, the choice is made again without fp16 and says why.
        """
        first = on[0]
        backend = backend_for(first)
        if allowed is None:
            allowed = _allowed_precisions(self.export.manifest, precision, first)
        allowed = tuple(p for p in allowed if backend.runs(p))  # the graph files it runs
        # select() is given every precision at the depth, so that its refusal of a missing
        # precision can name those the export has.
        offered = _graphs(self.export.manifest, tuple(Precision), depth)
        gated = backend.fp16_gated
        if gated:
            offered = with_fp32_quality(offered, self.export.manifest)
        refused = _refused(self.export, [g for g in offered if g.precision in allowed], backend)
        offered = [g for g in offered if g.file.path not in refused]  # e.g. no engine built
        graphs = [g for g in offered if g.precision in allowed]
        _check_vocabulary(self.export, graphs, self._tokenizer.vocab_size)
        measured = Measured({}, "none needed (the budget bounds neither latency nor memory)")
        if use_profile and graphs:
            measured = self._device_figures(graphs, on, budget, measure=measure, seconds=seconds)
        choice = select(
            offered, measured.entries, budget, precisions=allowed, profile=measured.source + note
        )
        if not gated or choice.precision is not Precision.FP16:
            return choice
        graph = self.export.manifest.graph(choice.depth, Precision.FP16)
        parity = fp16_parity(
            self.export, graph, self._tokenizer, self.threads, on, measure=self._may_measure
        )
        if parity.passed:
            return replace(choice, reason=f"{choice.reason}; {parity.describe()}")
        rest = tuple(p for p in allowed if p is not Precision.FP16)
        if precision is not None and not rest:
            raise BudgetError(
                f"precision fp16 was asked for on {first}, but {graph.file.path} "
                f"{parity.describe()}: pass precision='fp32', or allow measuring"
            )
        fallback = self._choose_on(
            on,
            budget,
            note,
            precision,
            depth,
            measure=measure,
            use_profile=use_profile,
            seconds=seconds,
            allowed=rest or (Precision.FP32,),
        )
        why = f"; fp32, not fp16: {graph.file.path} {parity.describe()}"
        return replace(fallback, reason=fallback.reason + why)

    @property
    def manifest(self) -> Manifest:
        return self.export.manifest

    @property
    def dims(self) -> int:
        return self.choice.dims

    @property
    def max_dims(self) -> int:
        """The widest ``dims`` that ``encode`` accepts: the graph's width, or the chosen width
        when the budget bounds the vector size."""
        return self.choice.graph_dims if self._dims_cap is None else self.choice.dims

    @property
    def depth(self) -> int:
        return self.choice.depth

    @property
    def tokenizer(self) -> TextTokenizer:
        """The export's tokenizer with the runtime's truncation (for pre-tokenising)."""
        return self._tokenizer

    @property
    def max_seq_length(self) -> int:
        return self._tokenizer.max_length

    @property
    def providers(self) -> list[str]:
        """The execution providers ONNX Runtime really activated, in priority order."""
        return list(self._open_runner().active)

    def device_profile(self) -> DeviceProfile | None:
        """This device's measured profile of the running provider, threads and precision, as
        cached in the export's ``profiles/`` (None when there is none)."""
        choice = self.choice
        provider = self.providers[0] if self.providers else prov.CPU
        device = this_device(provider, self.threads.intra_op)
        return load_profile(self.export, device.device_id(choice.precision))

    def get_sentence_embedding_dimension(self) -> int:
        """The width ``encode`` returns by default (sentence-transformers' name)."""
        return self.choice.dims

    def encode(
        self,
        sentences: str | Sequence[str],
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        dims: int | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> Any:
        """Embed ``sentences``: float32 [n, dims] in input order, unit norm by default.

        The first ``dims`` dimensions (default: the chosen width; a smaller value narrows
        further) are kept, then each vector is L2-normalised. A single str gives one 1-D
        vector; ``convert_to_numpy=False`` gives a list of 1-D arrays. ``[]`` gives shape
        (0, dims). Empty and whitespace-only strings are valid: they tokenise to the special
        tokens alone and all give the same unit vector. Inputs longer than the model's
        maximum length are truncated, with one ``TruncationWarning`` counting them. A
        non-str item raises ``TypeError`` naming its index, and a text with a lone surrogate
        (not Unicode text) ``BadInputError``, a ``ValueError``, naming its index.
        """
        single = isinstance(sentences, str)
        texts = check_texts([sentences] if isinstance(sentences, str) else sentences)
        width = self._width(dims)
        for name, value in (("batch_size", batch_size), ("chunk_size", chunk_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a whole number >= 1")
        vectors = encode_texts(
            texts,
            self._tokenizer,
            self._open_runner(),
            dims=width,
            batch_size=batch_size,
            normalize=normalize_embeddings,
            show_progress=show_progress_bar,
            chunk_size=max(chunk_size, batch_size),
        )
        if single:
            return vectors[0]
        return vectors if convert_to_numpy else list(vectors)

    def _width(self, dims: int | None) -> int:
        if dims is None:
            return self.choice.dims
        if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)):
            raise TypeError(f"dims must be a whole number, not {type(dims).__name__}")
        # The chosen width is the default; a wider slice of the same graph is the caller's to
        # ask for unless the budget bounds the vector size.
        widest = self.max_dims
        if not 1 <= dims <= widest:
            raise ValueError(
                f"dims={dims} is outside 1..{widest}: the chosen graph (depth "
                f"{self.choice.depth}) gives {self.choice.graph_dims} dims and the budget "
                f"allows {widest}; ask for at most {widest}"
            )
        return int(dims)

    def _open_runner(self) -> Runner:
        runner: Runner | None = self.__dict__.get("_runner")
        if runner is None:
            raise ClosedError(
                f"this Embedder of {self.export.root} was closed (close() or the end of its "
                "with block freed its session); create a new Embedder to encode again"
            )
        return runner

    def close(self) -> None:
        """Free the session; ``encode`` afterwards raises ``ClosedError``."""
        self.__dict__.pop("_runner", None)

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        c = self.choice
        return (
            f"Embedder({str(self.export.root)!r}, depth={c.depth}, dims={c.dims}, "
            f"precision={c.precision.value!r}, provider={c.provider!r})"
        )


def _graphs(
    manifest: Manifest, allowed: tuple[Precision, ...], depth: int | None
) -> list[GraphEntry]:
    """The graphs the choice may pick from: allowed precisions, and ``depth`` if pinned."""
    if depth is not None and (
        isinstance(depth, (bool, np.bool_)) or not isinstance(depth, numbers.Integral)
    ):
        raise TypeError(
            f"depth={depth!r:.40} must be a whole number, one of the export's depths "
            f"{', '.join(map(str, manifest.depths))} (not {type(depth).__name__})"
        )
    if depth is not None and depth not in manifest.depths:
        raise ValueError(
            f"depth={depth!r} is not in this export; it has depths "
            f"{', '.join(map(str, manifest.depths))}: pick one of those, or re-export with "
            "that depth in --depths"
        )
    return [
        g for g in manifest.graphs if g.precision in allowed and (depth is None or g.depth == depth)
    ]


def _refused(export: ExportDir, graphs: Sequence[GraphEntry], backend: Backend) -> set[str]:
    """The files of ``graphs`` that ``backend`` cannot run here (e.g. no engine was built on
    this machine); ``ProviderError`` naming why when it can run none of them."""
    reasons = {g.file.path: backend.serves(export, g) for g in graphs}
    refused = {path for path, reason in reasons.items() if reason is not None}
    if graphs and len(refused) == len(reasons):
        why = "; ".join(f"{path}: {reason}" for path, reason in reasons.items())
        raise ProviderError(f"{backend.short_name} cannot run any graph asked for here ({why})")
    return refused


def _check_vocabulary(export: ExportDir, graphs: Sequence[GraphEntry], vocab_size: int) -> None:
    """Refuse a tokenizer whose ids run past a graph's vocabulary table (checked once here;
    at encode time ONNX Runtime would fail on the first such id, or a GPU read garbage)."""
    for graph in graphs:
        path = export.path(graph.file)
        try:
            table = vocabulary_table(path)
        except (ProtobufError, OSError) as exc:
            raise IntegrityError(
                f"cannot read {graph.file.path} as an ONNX graph ({exc}); re-export the model"
            ) from exc
        if table is not None and vocab_size > table.rows:
            raise ExportDirError(
                f"the tokenizer has {vocab_size} tokens but {graph.file.path} has "
                f"{table.rows} vocabulary rows: ids {table.rows}..{vocab_size - 1} would "
                "index past its table. The tokenizer does not belong to this model; re-export "
                "the model with its own tokenizer"
            )


def _capped(budget: Budget, max_seq_length: int) -> tuple[Budget, str]:
    """The budget with seq_len capped at the model's maximum (longer inputs are cut), and a
    note saying so when it was."""
    if not budget.bounds_speed_or_memory or budget.seq_len <= max_seq_length:
        return budget, ""
    note = f" (seq_len {budget.seq_len} capped at the model's {max_seq_length})"
    return replace(budget, seq_len=max_seq_length), note


def _allowed_precisions(
    manifest: Manifest, precision: PrecisionSpec, provider: str
) -> tuple[Precision, ...]:
    """Precisions to consider: the caller's, else the provider's that the export has."""
    present = {g.precision for g in manifest.graphs}
    if precision is not None:
        wanted = [precision] if isinstance(precision, (str, Precision)) else list(precision)
        try:
            return tuple(dict.fromkeys(Precision(p) for p in wanted))
        except ValueError:
            have = ", ".join(p.value for p in Precision)
            raise ValueError(f"precision={precision!r} is not one of {have}") from None
    return prov.default_precisions(provider, present)
