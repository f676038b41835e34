"""scripts/device_model.py never runs a model directory's own tokenizer code."""

from __future__ import annotations

import json
from pathlib import Path

from commands import run_python
from tiny_models import EVIL_TOKENIZER_CODE, make_tiny_model

REPO = Path(__file__).resolve().parents[2]


def test_pack_does_not_run_tokenizer_code_even_when_told_yes(tmp_path: Path) -> None:
    model = make_tiny_model(tmp_path / "model", "bert", layers=1)
    (model / "tokenizer.json").unlink()
    marker = tmp_path / "marker"
    (model / "tokenization_evil.py").write_text(EVIL_TOKENIZER_CODE.format(marker=str(marker)))
    (model / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "EvilTokenizer",
                "auto_map": {"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]},
            }
        )
    )
    data = tmp_path / "data" / "triplets.tsv"
    data.parent.mkdir()
    data.write_text("anchor\tpositive\tnegative\na man\ta woman\ta dog\n")
    script = REPO / "scripts" / "device_model.py"
    out = tmp_path / "carry"
    args = ("pack", "--model", str(model), "--data", str(data), "--out", str(out))
    done = run_python(str(script), *args, stdin="y\n", timeout=300)
    assert not marker.exists(), "the directory's tokenizer code ran"
    assert done.returncode != 0 and "trust_remote_code" in done.stderr
    assert "[y/N]" not in done.stdout
