"""The base wheel's import boundary (format, console, runtime), proved in a fresh interpreter:
no torch, no tool package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from commands import run_python

FORBIDDEN = (
    "torch",
    "transformers",
    "optimum",
    "tensorrt",
    "sentence_transformers",
    "ese.exporter",
    "ese.serving",
    "ese.benchmarks",
    "ese.training",
    "ese.engines",
    "ese.studies",
)

PROGRAM = """
import json, pkgutil, sys, importlib
import ese.console, ese.format, ese.runtime
from ese.runtime import Budget, Embedder
for package in (ese.format, ese.console, ese.runtime):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
emb = Embedder(sys.argv[1], budget=Budget(latency_ms=1e4, batch_size=2, seq_len=16, max_dims=8),
               measure_seconds=0.2)
vectors = emb.encode(["a dog runs", "", "two people"])
forbidden = %r
print(json.dumps({
    "shape": list(vectors.shape),
    "loaded": sorted(
        m for m in sys.modules
        if m.split(".")[0] in forbidden or any(m == f or m.startswith(f + ".") for f in forbidden)
    ),
    "modules": sorted({m.split(".")[0] for m in sys.modules}),
}))
"""


def test_the_base_wheel_never_imports_torch_or_a_tool_package(
    tiny_export: Path, tmp_path: Path
) -> None:
    export = shutil.copytree(tiny_export, tmp_path / "export")
    done = run_python("-c", PROGRAM % (FORBIDDEN,), str(export))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["shape"] == [3, 8]
    assert report["loaded"] == [], f"the runtime imported {report['loaded']}"
    assert "ese" in report["modules"] and "onnxruntime" in report["modules"]


def test_smoke_script_for_a_runtime_only_install(tiny_export: Path, tmp_path: Path) -> None:
    export = shutil.copytree(tiny_export, tmp_path / "export")
    done = run_python("-m", "ese.runtime.smoke", str(export))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(("ok: depth 1 x 32 dims (fp32)", "ok: depth 2 x 32 dims (fp32)"))
    assert "none of torch" in done.stdout
