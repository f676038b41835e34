"""ese-bench report: a self-contained HTML page (opened in headless Chromium) and its Markdown."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ese.benchmarks.cli import main
from ese.benchmarks.report.pages import md_to_html
from ese.benchmarks.report.plots import ParetoPoint, pareto_front

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def reported(tiny_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny export, profiled (onnxruntime and torch), evaluated, and reported."""
    export = Path(shutil.copytree(tiny_export, tmp_path_factory.mktemp("report") / "export"))
    grid = [
        "--batch",
        "1,2",
        "--seq",
        "8,16",
        "--runs",
        "3",
        "--warmup",
        "1",
        "--threads",
        "1",
        "--quiet",
    ]
    assert main(["profile", str(export), *grid]) == 0
    assert main(["profile", str(export), "--backend", "torch", "--device", "cpu", *grid]) == 0
    assert main(["quality", str(export), "--threads", "1"]) == 0
    assert main(["report", str(export)]) == 0
    return export


def test_pareto_front_keeps_what_nothing_beats() -> None:
    pts = [
        ParetoPoint(2, 64, 1.0, 70.0),
        ParetoPoint(2, 384, 1.0, 75.0),
        ParetoPoint(4, 64, 2.0, 74.0),
        ParetoPoint(6, 384, 3.0, 82.0),
    ]
    assert [(p.depth, p.dims) for p in pareto_front(pts)] == [(2, 384), (6, 384)]


def test_markdown_tables_become_html_tables() -> None:
    out = md_to_html("- a `x`\n\n| h1 | h2 |\n|---|---|\n| 1 | 2 |")
    assert "<li>a <code>x</code></li>" in out
    assert "<th>h1</th>" in out and "<td>2</td>" in out and "---" not in out


def test_report_is_self_contained_with_a_markdown_twin(reported: Path) -> None:
    reports = reported / "reports"
    page = (reports / "index.html").read_text()
    images = re.findall(r'<img class="plot"[^>]*src="([^"]+)"', page)
    assert len(images) == 6  # 2 profiles x (latency, throughput), quality, Pareto
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:|file:|//)', page)
    md = (reports / "report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(linked) == 6 and all((reports / name).is_file() for name in linked)
    assert "The runtime's choice" in md and "no bounds" in md
    # each depth's dimension order, as the manifest records it: never "PCA order" for a depth
    # that keeps the model's own
    kinds = json.loads((reported / "manifest.json").read_text())["projection"]["depths"]
    named = "; ".join(f"{k['kind']} at depth {k['depth']}" for k in kinds)
    orders = {k["kind"] for k in kinds}
    if len(orders) == 1:
        named = f"{orders.pop()} at depths " + ", ".join(str(k["depth"]) for k in kinds)
    assert f"stsb (exported order: {named})" in md, md
    assert "PCA order" not in page_text(reported)


def page_text(export: Path) -> str:
    return (export / "reports" / "index.html").read_text()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_its_plots_in_headless_chromium(reported: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium chromium-driver)")
    page = (reported / "reports" / "index.html").resolve()
    done = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body[^>]*>", done.stdout)
    assert body is not None, done.stdout[:500]
    assert 'data-plots="6"' in body.group(0)
    assert 'data-plots-rendered="6"' in body.group(0)
    sizes = re.findall(r'data-rendered="(\d+)x(\d+)"', done.stdout)
    assert len(sizes) == 6 and all(int(w) > 200 and int(h) > 150 for w, h in sizes)


def test_report_refuses_an_export_with_nothing_measured(
    tiny_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = Path(shutil.copytree(tiny_export, tmp_path / "bare"))
    shutil.rmtree(export / "reports", ignore_errors=True)
    shutil.rmtree(export / "profiles", ignore_errors=True)
    # every export carries its probe grid: that alone is something to draw
    assert main(["report", str(export)]) == 0
    assert (export / "reports" / "index.html").is_file()
    shutil.rmtree(export / "reports")
    manifest = json.loads((export / "manifest.json").read_text())
    for graph in manifest["graphs"]:
        graph["quality"] = {}
    (export / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(export)]) == 2
    assert "nothing measured" in capsys.readouterr().err
