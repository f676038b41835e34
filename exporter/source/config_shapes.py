"""config.json's sizes, checked against the checkpoint's tensor shapes before any weight is
allocated: the encoder is first built on torch's meta device (no memory), so a config that
transformers cannot build, or whose sizes differ from the checkpoint's (a hidden_size of
100,000 would allocate gigabytes before transformers compared a shape), is refused by name."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ese.format.errors import UserError


def _skeleton(directory: Path, trust_remote_code: bool) -> Any:
    import torch
    from transformers import AutoConfig, AutoModel

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = AutoConfig.from_pretrained(directory, trust_remote_code=trust_remote_code)
            with torch.device("meta"):
                return AutoModel.from_config(
                    config, trust_remote_code=trust_remote_code, attn_implementation="eager"
                )
    # transformers and torch raise these for sizes they cannot build (null, negative, odd)
    except (TypeError, ValueError, RuntimeError, AttributeError, OverflowError, OSError) as exc:
        raise UserError(
            f"{directory / 'config.json'} does not describe a model transformers can build "
            f"({str(exc)[:200]}); restore config.json from the model's source"
        ) from exc


def check_config_shapes(
    directory: Path, shapes: dict[str, tuple[int, ...]], *, trust_remote_code: bool
) -> None:
    """UserError naming each tensor whose checkpoint shape config.json contradicts."""
    skeleton = _skeleton(directory, trust_remote_code)
    expected = {key: tuple(t.shape) for key, t in skeleton.state_dict().items()}
    prefix = f"{skeleton.base_model_prefix}."
    wrong = []
    for key, shape in sorted(shapes.items()):
        name = key.removeprefix(prefix) if key.removeprefix(prefix) in expected else key
        if name in expected and expected[name] != shape:
            wrong.append(f"{name} is {list(shape)}, config.json says {list(expected[name])}")
    if wrong:
        more = f" ... ({len(wrong)} in all)" if len(wrong) > 4 else ""
        raise UserError(
            f"the checkpoint in {directory} does not fit its config.json: "
            + "; ".join(wrong[:4])
            + more
            + ". Fix config.json's sizes or restore the checkpoint"
        )
