"""The export directory as hostile input: wrong JSON types, out-of-range values, symlinks out of
the export, an unlisted tokenizer, a bad cached profile, and processes caching profiles at once.

Each case is refused with a typed error that names the field or file (or, for the runtime's own
profile cache, ignored with a warning and measured again); nothing outside the export is read
or written. Real tiny exports, real ONNX Runtime sessions, real concurrent processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ese.format.errors import ExportDirError, IntegrityError, ManifestError
from ese.format.profile import profile_path
from ese.runtime import Budget, Embedder
from ese.runtime.backends.providers import CPU
from ese.runtime.cli.embed import main as ese_embed
from ese.runtime.device import this_device

SHAPE: dict[str, Any] = {"batch_size": 2, "seq_len": 8}


@pytest.fixture
def export_copy(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def edit_manifest(root: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """An edit that sets the field at ``path`` (``graphs.1.dims``) to ``value``."""

    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("graphs", "graphs/depth-01.onnx"), r"graphs is \"graphs/depth-01.onnx\" \(string\)"),
        (_set("graphs.0.quality", [61.0]), r"graphs\[0\]\.quality is \[61.0\] \(list\)"),
        (_set("graphs.0.file.bytes", 1e400), r"graphs\[0\]\.file\.bytes is Infinity"),
        (_set("graphs.1.depth", 1e999), r"graphs\[1\]\.depth is Infinity"),
        (_set("source.max_seq_length", 10**30), r"source\.max_seq_length is a huge number"),
        (_set("source.max_seq_length", -1), r"source\.max_seq_length is -1 \(integer\)"),
        (_set("source.max_seq_length", 0), r"source\.max_seq_length is 0 .* from 1 to"),
        (_set("graphs.0.dims", 0), r"graphs\[0\]\.dims is 0 .* from 1 to"),
        (_set("graphs.1.dims", -32), r"graphs\[1\]\.dims is -32"),
        (
            _set("graphs.1.quality", {"stsb": {"16": float("nan")}}),
            r"graphs\[1\]\.quality\.stsb\[\"16\"\] is NaN .* finite",
        ),
        (_set("graphs.1.quality", {"stsb": {"0": 80.0}}), r"stsb\[\"0\"\] is not a whole number"),
        (_set("tokenizer", {"files": "tokenizer.json"}), r"tokenizer\.files is .* a JSON list"),
        (_set("source.pooling", ["mean"]), r"source\.pooling is \[\"mean\"\] .* one of 'mean'"),
    ],
)
def test_wrong_types_and_ranges_are_manifest_errors(
    export_copy: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    edit_manifest(export_copy, edit)
    with pytest.raises(ManifestError, match=message) as caught:
        Embedder(export_copy)
    assert "re-export the model" in str(caught.value)


def test_non_utf8_manifest_is_a_manifest_error(export_copy: Path) -> None:
    path = export_copy / "manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"mean"', b'"m\xe9an"'))
    with pytest.raises(ManifestError, match=r"is not UTF-8 text"):
        Embedder(export_copy)


def test_ese_embed_reports_a_bad_manifest_in_one_line(
    export_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_manifest(export_copy, _set("graphs", "x"))
    assert ese_embed([str(export_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ese-embed: error: ") and err.count("\n") == 1
    assert "Traceback" not in err and "graphs is" in err


def test_a_file_given_as_the_export_directory_is_named_a_file(export_copy: Path) -> None:
    with pytest.raises(ExportDirError, match=r"manifest.json is a file, not an export directory"):
        Embedder(export_copy / "manifest.json")


def test_a_manifest_symlinked_from_outside_is_refused(export_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    shutil.move(export_copy / "manifest.json", outside)
    (export_copy / "manifest.json").symlink_to(outside)
    with pytest.raises(IntegrityError, match=r"'manifest.json' resolves to .*outside the export"):
        Embedder(export_copy)


def test_an_unlisted_tokenizer_is_refused(export_copy: Path) -> None:
    def drop_tokenizer_json(data: dict[str, Any]) -> None:
        files = data["tokenizer"]["files"]
        data["tokenizer"]["files"] = [f for f in files if f["path"] != "tokenizer/tokenizer.json"]

    edit_manifest(export_copy, drop_tokenizer_json)
    with pytest.raises(ManifestError, match=r"does not list tokenizer/tokenizer.json"):
        Embedder(export_copy)


def test_a_profiles_symlink_out_of_the_export_is_refused(export_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (export_copy / "profiles").symlink_to(outside, target_is_directory=True)
    with pytest.raises(IntegrityError, match=r"'profiles' resolves to .*outside the export"):
        Embedder(export_copy, budget=Budget(latency_ms=1e4, **SHAPE), measure_seconds=0.2)
    assert list(outside.iterdir()) == []


def _entry(depth: int, **change: object) -> dict[str, Any]:
    entry = {
        "depth": depth,
        "precision": "fp32",
        **SHAPE,
        "latency_ms_p50": 1.0,
        "latency_ms_p90": 1.0,
        "latency_ms_p99": 1.0,
        "sentences_per_s": 2000.0,
        "tokens_per_s": 16000.0,
        "peak_memory_mb": 1.0,
        "runs": 10,
    }
    return {**entry, **change}


@pytest.mark.parametrize(
    ("change", "profile_change", "message"),
    [
        ({"latency_ms_p90": float("nan")}, {}, r"entries\[1\]\.latency_ms_p90 is NaN"),
        ({"latency_ms_p90": -5.0}, {}, r"entries\[1\]\.latency_ms_p90 is -5.0"),
        ({"runs": 1e400}, {}, r"entries\[1\]\.runs is Infinity"),
        ({}, {"device_id": "someone-elses-gpu"}, r"names device 'someone-elses-gpu'"),
    ],
)
def test_a_bad_cached_profile_is_ignored_and_measured_again(
    export_copy: Path, change: dict[str, Any], profile_change: dict[str, Any], message: str
) -> None:
    did = this_device(CPU, threads=1).device_id()
    path = profile_path(export_copy, did)
    path.parent.mkdir()
    profile = {
        "schema_version": 1,
        "device_id": did,
        "device": {"provider": CPU},
        "measured_by": "hand-edited",
        "entries": [_entry(1), _entry(2, **change)],
        **profile_change,
    }
    path.write_text(json.dumps(profile))
    budget = Budget(latency_ms=1e4, **SHAPE)
    with pytest.warns(UserWarning, match=message):
        emb = Embedder(export_copy, budget=budget, intra_op_threads=1, measure_seconds=0.2)
    assert "measured now by ese.runtime: 2 graph(s)" in emb.choice.profile
    entries = json.loads(path.read_text())["entries"]
    assert len(entries) == 2 and all(e["latency_ms_p90"] > 0 for e in entries)


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from ese.runtime import Budget, Embedder
    root, batch, ready, go = sys.argv[1:]
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)
    budget = Budget(latency_ms=1e4, batch_size=int(batch), seq_len=8)
    Embedder(root, budget=budget, intra_op_threads=1, measure_seconds=0.05)
    """
)


def test_processes_caching_at_once_lose_no_entries(export_copy: Path, tmp_path: Path) -> None:
    """Three processes measure at once (released together), each at its own batch size."""
    batches = (1, 2, 3)
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(export_copy), str(b), str(tmp_path / f"r{b}"), go],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        for b in batches
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"r{b}").exists() for b in batches):
        assert time.monotonic() < deadline, "the child processes did not start"
        time.sleep(0.02)
    go.touch()
    assert [c.wait(timeout=180) for c in children] == [0, 0, 0]
    path = profile_path(export_copy, this_device(CPU, threads=1).device_id())
    entries = json.loads(path.read_text())["entries"]
    keys = sorted((e["depth"], e["batch_size"]) for e in entries)
    assert keys == [(d, b) for d in (1, 2) for b in batches]
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary or lock file left
