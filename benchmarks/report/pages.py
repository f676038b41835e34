"""``reports/index.html`` (self-contained: PNGs embedded) and its Markdown twin ``report.md``.

Everything drawn comes from files in the export directory: profiles (runtime and torch),
``reports/quality.json`` (else the manifest's quality), and ``reports/compare.md`` when
``ese-bench compare`` has run.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from ese.benchmarks.latency.profile_store import read_profiles
from ese.benchmarks.quality.grids import QualityGrid
from ese.benchmarks.quality.orders import grid_order
from ese.benchmarks.quality.store import read_quality
from ese.benchmarks.report.pareto import pareto_data
from ese.benchmarks.report.plots import (
    latency_vs_depth,
    pareto_plot,
    quality_heatmap,
    throughput_heatmap,
)
from ese.benchmarks.report.tables import markdown, profile_table, quality_table
from ese.console import MARKER_FILE, OutputKind, has_marker, is_export_dir, staged_additions
from ese.format import REPORTS_DIR, Manifest, read_manifest

# Flags the HTML in a headless browser: each <img> that decoded sets its data-rendered.
REPORT_TOOL = "ese-bench"
_RENDER_CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.querySelectorAll('img.plot'));
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0);
  ok.forEach(i => i.setAttribute('data-rendered', i.naturalWidth + 'x' + i.naturalHeight));
  document.body.setAttribute('data-plots', imgs.length);
  document.body.setAttribute('data-plots-rendered', ok.length);
});
</script>"""

_STYLE = """<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
img.plot{max-width:100%;display:block;margin:.5em 0 1.5em}
code{background:#f3f3f3;padding:0 3px}
</style>"""


@dataclass
class Page:
    """The report, built once and written twice (HTML with embedded PNGs, and Markdown)."""

    title: str
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (kind, payload)
    images: dict[str, bytes] = field(default_factory=dict)

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def text(self, markdown_text: str) -> None:
        self.blocks.append(("md", markdown_text))

    def image(self, name: str, png: bytes, alt: str) -> None:
        self.images[name] = png
        self.blocks.append(("img", f"{name}\n{alt}"))

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, payload in self.blocks:
            if kind == "h2":
                out += [f"## {payload}", ""]
            elif kind == "md":
                out += [payload, ""]
            else:
                name, alt = payload.split("\n", 1)
                out += [f"![{alt}]({name})", ""]
        return "\n".join(out)

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, payload in self.blocks:
            if kind == "h2":
                body.append(f"<h2>{html.escape(payload)}</h2>")
            elif kind == "md":
                body.append(md_to_html(payload))
            else:
                name, alt = payload.split("\n", 1)
                data = base64.b64encode(self.images[name]).decode("ascii")
                body.append(
                    f'<img class="plot" alt="{html.escape(alt)}" '
                    f'src="data:image/png;base64,{data}">'
                )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title>{_STYLE}</head>\n<body>\n"
            + "\n".join(body)
            + f"\n{_RENDER_CHECK}\n</body></html>\n"
        )


def _inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def md_to_html(text: str) -> str:
    """The Markdown these reports use: headings, lists, pipe tables, paragraphs, `code`."""
    out: list[str] = []
    table: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|(\s*-+\s*\|)+", r)]
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
            body = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:]
            )
            out.append(f"<table><tr>{head}</tr>{body}</table>")
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        if line.startswith("- "):
            items.append(line[2:])
            continue
        flush()
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")) + 1, 4)
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    flush()
    return "\n".join(out)


def _grids(export_dir: Path, manifest: Manifest) -> list[QualityGrid]:
    grids = read_quality(export_dir)
    if grids:
        return grids
    tasks = sorted({t for g in manifest.graphs for t in g.quality})
    return [
        QualityGrid(
            task,
            manifest.projection.kind.value,
            {g.depth: dict(g.quality[task]) for g in manifest.graphs if task in g.quality},
            0,
            0.0,
        )
        for task in tasks
    ]


def build_report(export_dir: Path, batch: int | None = None, seq: int | None = None) -> Page:
    manifest = read_manifest(export_dir)
    name = Path(manifest.source.path).name or manifest.source.path
    page = Page(f"ese-bench report: {name}")
    page.text(
        "\n".join(
            [
                f"- export: `{export_dir}` ({manifest.source.architecture}, "
                f"{manifest.source.num_layers} layers, {manifest.source.hidden_size} dims, "
                f"depths {list(manifest.depths)}, projection {manifest.projection.kind.value})",
                f"- created: {manifest.created}",
            ]
        )
    )
    profiles = read_profiles(export_dir)
    for prof in profiles:
        measured = prof.measurements
        page.heading(f"Profile {prof.device_id} ({prof.backend})")
        page.text(f"- measured by: {prof.measured_by}")
        safe = re.sub(r"[^a-z0-9-]+", "-", prof.device_id.lower())
        page.image(
            f"latency-{safe}.png",
            latency_vs_depth(measured, prof.device_id),
            f"latency vs depth, {prof.device_id}",
        )
        page.image(
            f"throughput-{safe}.png",
            throughput_heatmap(measured, prof.device_id),
            f"throughput heatmap, {prof.device_id}",
        )
        page.text(profile_table(measured))
    grids = [g for g in _grids(export_dir, manifest) if g.scores]
    if grids:
        page.heading("Quality")
    for grid in grids:
        label = f"{grid.task} ({grid_order(grid.order, manifest, grid.scores)})"
        page.image(
            f"quality-{grid.task.replace('@', '')}-{grid.order}.png",
            quality_heatmap(grid, label),
            f"quality heatmap, {label}",
        )
        page.text(quality_table(grid))
    runtime_profiles = [p for p in profiles if p.backend == "onnxruntime"]
    pareto = None
    if runtime_profiles:
        pareto = pareto_data(manifest, runtime_profiles[0].measurements, batch, seq)
    if pareto is not None:
        device = runtime_profiles[0].device_id
        page.heading("Quality vs latency")
        shape = f"batch {pareto.batch_size} x seq {pareto.seq_len}"
        page.image(
            "pareto.png",
            pareto_plot(
                pareto.points,
                [c for c, _ in pareto.choices],
                f"STS-B vs latency p90, {shape}, {device}",
                f"latency p90 (ms), {shape}",
                "STS-B Spearman x 100",
            ),
            "quality vs latency with the runtime's choices",
        )
        page.text(
            "The runtime's choice (`ese.runtime.choice.select`, this profile and manifest) "
            "for sample budgets:\n\n"
            + markdown(
                ["budget", "choice"],
                [
                    [c.label.split(" -> ")[0].split(": nothing")[0], words]
                    for c, words in pareto.choices
                ],
            )
        )
    compare_md = Path(export_dir) / REPORTS_DIR / "compare.md"
    if compare_md.is_file():
        page.heading("Comparison with sentence-transformers and bare ONNX Runtime")
        text = compare_md.read_text(encoding="utf-8")
        page.text("\n".join(line for line in text.splitlines() if not line.startswith("# ")))
    return page


def _report_dir_here(path: Path) -> bool:
    """A directory ese-bench marked, or an export's own reports/ (other commands write there)."""
    if has_marker(path, REPORT_TOOL):
        return True
    return path.name == REPORTS_DIR and is_export_dir(path.parent)


REPORT_DIR = OutputKind(
    REPORT_TOOL,
    f"a report directory ese-bench wrote (it holds {MARKER_FILE}) or an export's {REPORTS_DIR}/",
    _report_dir_here,
    marks=True,
)


def write_report(page: Page, out: Path) -> tuple[Path, Path]:
    """The report's files, staged and then added to ``out`` (other files there stay)."""
    with staged_additions(out, REPORT_DIR) as stage:
        for name, png in page.images.items():
            (stage / name).write_bytes(png)
        (stage / "report.md").write_text(page.markdown(), encoding="utf-8")
        (stage / "index.html").write_text(page.html(), encoding="utf-8")
    return out / "index.html", out / "report.md"
