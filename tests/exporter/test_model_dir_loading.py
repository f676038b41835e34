"""A model directory is loaded as it is or refused: no remote code without the flag, no weight
left random, no shard outside the directory, no bad file reaching transformers or torch.

Real tiny models under tmp_path, each made hostile in one way; every refusal is a typed
``UserError`` (exit 2) that names what to fix, and nothing is written to --out.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import transformers
from commands import run_script
from safetensors.torch import load_file, save_file
from tiny_models import make_tiny_model, plant_tokenizer_code, tiny_config, tiny_tokenizer

from ese.exporter import export
from ese.exporter.source.st_modules import write_st_modules
from ese.format import read_manifest
from ese.format.errors import UserError


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def _edit_config(model: Path, **fields: object) -> None:
    config = json.loads((model / "config.json").read_text())
    config.update(fields)
    (model / "config.json").write_text(json.dumps(config))


def test_tokenizer_code_needs_trust_remote_code_and_never_prompts(
    model_copy: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    plant_tokenizer_code(model_copy, marker)
    out = tmp_path / "out"
    args = (str(model_copy), "--depths", "1,2", "--out", str(out), "--projection", "none")
    done = run_script("ese-export", *args, stdin="y\n", timeout=300)
    assert not marker.exists(), "the directory's tokenizer code ran"
    assert done.returncode == 2, done.stderr
    assert "--trust-remote-code" in done.stderr and "tokenizer_config.json" in done.stderr
    assert done.stdout == ""  # no [y/N] question
    assert not out.exists()


def test_config_with_more_layers_than_the_checkpoint_is_refused(
    model_copy: Path, tmp_path: Path
) -> None:
    _edit_config(model_copy, num_hidden_layers=4)
    with pytest.raises(UserError, match=r"missing .*encoder\.layer\.2\."):
        export(model_copy, [1, 4], tmp_path / "out", projection="none")
    assert not (tmp_path / "out").exists()


def test_renamed_checkpoint_keys_are_refused(model_copy: Path, tmp_path: Path) -> None:
    weights = load_file(model_copy / "model.safetensors")
    save_file({f"x.{k}": v for k, v in weights.items()}, model_copy / "model.safetensors")
    with pytest.raises(UserError, match=r"missing .*embeddings\..*unused .*x\.embeddings\."):
        export(model_copy, [1], tmp_path / "out", projection="none")


def test_checkpoint_without_a_pooler_exports(model_copy: Path, tmp_path: Path) -> None:
    weights = load_file(model_copy / "model.safetensors")
    kept = {k: v for k, v in weights.items() if not k.startswith("pooler.")}
    assert len(kept) < len(weights)
    save_file(kept, model_copy / "model.safetensors")
    export(model_copy, [2], tmp_path / "out", projection="none")


def _sharded(tiny_model_dir: Path, tmp_path: Path) -> Path:
    model = Path(shutil.copytree(tiny_model_dir, tmp_path / "sharded"))
    (model / "model.safetensors").unlink()
    encoder = transformers.AutoModel.from_pretrained(tiny_model_dir)
    encoder.save_pretrained(model, safe_serialization=True, max_shard_size="60KB")
    assert (model / "model.safetensors.index.json").is_file()
    return model


def _point_first_shard(model: Path, target: str) -> None:
    index_file = model / "model.safetensors.index.json"
    index = json.loads(index_file.read_text())
    first = sorted(set(index["weight_map"].values()))[0]
    index["weight_map"] = {k: (target if v == first else v) for k, v in index["weight_map"].items()}
    index_file.write_text(json.dumps(index))


def test_shards_are_hashed_as_loaded_and_a_decoy_is_not(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    model = _sharded(tiny_model_dir, tmp_path)
    shutil.copyfile(tiny_model_dir / "model.safetensors", model / "decoy.safetensors")
    index = json.loads((model / "model.safetensors.index.json").read_text())
    digest = hashlib.sha256()
    for name in sorted(set(index["weight_map"].values())):
        digest.update(name.encode())
        digest.update((model / name).read_bytes())
    export(model, [2], tmp_path / "out", projection="none")
    manifest = read_manifest(tmp_path / "out")
    assert manifest.source.weights_sha256 == digest.hexdigest()


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        ("../outside.safetensors", "not a file inside"),
        ("/etc/hostname.safetensors", "not a file inside"),
        ("weights.bin", r"not a \.safetensors file"),
        ("escape.safetensors", "a link to"),
    ],
)
def test_shards_outside_the_directory_are_refused(
    target: str, needle: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    model = _sharded(tiny_model_dir, tmp_path)
    outside = tmp_path / "outside.safetensors"
    shutil.copyfile(tiny_model_dir / "model.safetensors", outside)
    os.symlink(outside, model / "escape.safetensors")
    _point_first_shard(model, target)
    with pytest.raises(UserError, match=needle):
        export(model, [2], tmp_path / "out", projection="none")
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_shard_outside_with_exit_2(tiny_model_dir: Path, tmp_path: Path) -> None:
    model = _sharded(tiny_model_dir, tmp_path)
    shutil.copyfile(tiny_model_dir / "model.safetensors", tmp_path / "outside.safetensors")
    _point_first_shard(model, "../outside.safetensors")
    out = tmp_path / "out"
    args = (str(model), "--depths", "2", "--out", str(out), "--projection", "none")
    done = run_script("ese-export", *args, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "../outside.safetensors" in done.stderr and len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("content", [b"", b"garbage!" * 100], ids=["empty", "garbage"])
def test_unreadable_safetensors_is_a_user_error(
    content: bytes, model_copy: Path, tmp_path: Path
) -> None:
    (model_copy / "model.safetensors").write_bytes(content)
    with pytest.raises(UserError, match=r"not a readable safetensors file"):
        export(model_copy, [1], tmp_path / "out", projection="none")


def test_tokenizer_larger_than_the_vocabulary_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "small-vocab"
    config = tiny_config("bert", 2)
    config.vocab_size = 40  # the tiny tokenizer has ~130 tokens
    transformers.AutoModel.from_config(config).save_pretrained(model, safe_serialization=True)
    tiny_tokenizer(model)
    write_st_modules(model, hidden=32, pooling="mean", normalize=False, max_seq_length=48)
    with pytest.raises(UserError, match=r"embeddings have 40 rows"):
        export(model, [1], tmp_path / "out", projection="none")


def test_max_seq_length_beyond_the_positions_is_clamped_and_said(tmp_path: Path) -> None:
    model = make_tiny_model(tmp_path / "long", max_seq_length=1000)
    said: list[str] = []
    export(model, [2], tmp_path / "out", projection="none", progress=said.append)
    assert read_manifest(tmp_path / "out").source.max_seq_length == 66
    assert any(m.startswith("note:") and "1000" in m and "66" in m for m in said), said


@pytest.mark.parametrize("pad", [9999, -1])
def test_pad_token_id_outside_the_vocabulary_is_refused(
    pad: int, model_copy: Path, tmp_path: Path
) -> None:
    _edit_config(model_copy, pad_token_id=pad)
    with pytest.raises(UserError, match=rf"pad_token_id {pad} is not a row"):
        export(model_copy, [1], tmp_path / "out", projection="none")
