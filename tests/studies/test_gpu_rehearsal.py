"""The GPU run's own parts on the CPU provider: texts, interleaving, checks and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ese.studies.gpu_compare import REHEARSAL, compare, markdown, read_steps
from ese.studies.gpu_encode_race import RacePlan, race_shape, texts_of_length
from ese.studies.gpu_graph_checks import parity_rows, placement_rows


def test_race_texts_tokenise_to_exactly_the_shape(tiny_export: Path) -> None:
    tokenizer = tiny_export / "tokenizer" / "tokenizer.json"
    if not tokenizer.is_file():
        (tokenizer,) = tiny_export.rglob("tokenizer.json")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer))
    texts = texts_of_length(tokenizer, 5, 12)
    assert len(set(texts)) == 5
    assert [len(tok.encode(t).ids) for t in texts] == [12] * 5


def test_race_warms_both_then_alternates_which_side_goes_first() -> None:
    calls: list[str] = []
    plan = RacePlan(depths=(2,), batch_sizes=(1,), seq_lens=(8,), warmup=2, rounds=4)
    ours, theirs = race_shape(lambda: calls.append("o"), lambda: calls.append("t"), plan)
    assert len(ours) == len(theirs) == 4
    assert "".join(calls) == "otot" + "ot" + "to" + "ot" + "to"
    assert RacePlan((2, 6, 4), (1,), (16,)).shapes()[0] == (6, 1, 16)


def test_parity_runs_each_graph_at_its_width_through_batches_1_8_and_64(
    tiny_export: Path,
) -> None:
    from ese.format import open_export

    export = open_export(tiny_export)
    sentences = [f"sentence {i} with words {' '.join('abc'[: i % 3 + 1])}" for i in range(20)]
    rows = parity_rows(export, "cpu", sentences)
    assert {r["depth"] for r in rows} == set(export.manifest.depths)
    for row in rows:
        assert row["width"] == export.manifest.graph(row["depth"], row["precision"]).dims
        assert set(row["min_cosine_per_batch"]) == {"1", "8", "64"}
        assert row["min_cosine"] > 0.9999 and row["met"] is True
    placement = placement_rows(export, "cpu")
    assert all(p["active"][0] == "CPUExecutionProvider" and p["met"] for p in placement)
    assert all(sum(p["nodes_per_provider"].values()) > 0 for p in placement)


def test_a_failed_step_is_reported_and_goals_without_figures_say_so(tmp_path: Path) -> None:
    (tmp_path / "steps.tsv").write_text(
        "install check\t0\t3\tok\nprofile onnxruntime fp16 on cpu\t1\t9\tfailed: see the log\n"
    )
    (tmp_path / "parity.json").write_text(
        json.dumps(
            [
                {
                    "depth": 6,
                    "precision": "fp16",
                    "min_cosine_per_batch": {"1": 0.9995, "8": 0.9991, "64": 0.9993},
                    "min_cosine": 0.9991,
                    "met": True,
                }
            ]
        )
    )
    result = compare(tmp_path, "cuda", "make bench-gpu")
    text = markdown(result)
    assert "| profile onnxruntime fp16 on cpu | FAILED (1) | 9 |" in text
    latency, *_, parity = result["targets"]
    assert latency["met"] is None and "not measured" in text
    assert parity["ort"] == pytest.approx(0.9991) and parity["met"] is True
    assert REHEARSAL not in text
    rehearsal = markdown(compare(tmp_path, "cpu", "make rehearse-gpu"))
    assert rehearsal.count(REHEARSAL) == 4 and "Rehearsal of the GPU run" in rehearsal


def test_the_gpu_scripts_put_every_ese_package_on_the_path() -> None:
    import re
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    pyproject = (repo / "pyproject.toml").read_text(encoding="utf-8")
    (package_dir,) = re.findall(r"^package-dir = \{(.*)\}$", pyproject, flags=re.M)
    declared = set(re.findall(r'"ese\.(\w+)"', package_dir))
    assert len(declared) >= 7
    mapped = subprocess.run(
        ["bash", "-c", "source scripts/ese_path.sh && echo $ESE_PACKAGES"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert set(mapped) == declared and "studies" in mapped
    for script in ("scripts/gpu_checks.sh", "studies/gpu_profile.sh"):
        assert "source scripts/ese_path.sh" in (repo / script).read_text(encoding="utf-8")


def test_depth_cost_is_the_graphs_own_when_this_run_profiled_them(tmp_path: Path) -> None:
    def entry(depth: int, precision: str, p50: float) -> dict[str, object]:
        return {
            "depth": depth,
            "precision": precision,
            "batch_size": 128,
            "seq_len": 256,
            "latency_ms_p50": p50,
            "latency_ms_p90": p50,
            "latency_ms_p99": p50,
            "peak_memory_mb": 1.0,
            "runs": 3,
        }

    (tmp_path / "profiles").mkdir()
    entries = [entry(2, "fp16", 4.0), entry(6, "fp16", 10.0), entry(2, "fp32", 9.0)]
    (tmp_path / "profiles" / "gpu-cuda-fp16.json").write_text(json.dumps({"entries": entries}))
    _, _, depth_cost, _ = compare(tmp_path, "cuda", "make bench-gpu")["targets"]
    assert depth_cost["ratio"] == pytest.approx(0.4) and depth_cost["met"] is True
    assert "graph's profile" in depth_cost["target"]


def test_an_fp16_graph_the_runtime_refused_fails_the_parity_goal(tmp_path: Path) -> None:
    refused = "precision fp16 was asked for on CUDAExecutionProvider, but its gate failed"
    rows = [{"depth": 6, "precision": "fp16", "asked": "CUDAExecutionProvider", "met": False}]
    rows[0]["refused"] = refused
    (tmp_path / "parity.json").write_text(json.dumps(rows))
    (tmp_path / "placement.json").write_text(json.dumps(rows))
    result = compare(tmp_path, "cuda", "make bench-gpu")
    assert result["targets"][-1]["met"] is False
    assert markdown(result).count(f"refused: {refused}") == 2


def test_a_failed_profile_is_recorded_and_the_next_steps_still_run(tmp_path: Path) -> None:
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    script = f"""
        set -euo pipefail
        say() {{ echo "$*"; }}
        STEPS={tmp_path}/steps.tsv PROFILE_SECONDS=1
        source studies/gpu_steps.sh
        capped "profile fp16 depth 6" bash -c 'exit 70'
        capped "profile fp16 depth 2" sleep 5
        step "parity" true
        echo "failed=$FAILED"
    """
    run = subprocess.run(["bash", "-c", script], cwd=repo, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("failed=1")
    steps = {s["step"]: s for s in read_steps(tmp_path / "steps.tsv")}
    assert list(steps) == ["profile fp16 depth 6", "profile fp16 depth 2", "parity"]
    assert steps["profile fp16 depth 6"]["exit"] == 70
    assert steps["profile fp16 depth 2"]["exit"] == 0  # stopped at the cap: what it measured stays
    assert "cap" in steps["profile fp16 depth 2"]["note"]
    assert steps["parity"]["exit"] == 0
