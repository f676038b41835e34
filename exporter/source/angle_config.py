"""AnglE's ``angle_config.json`` (written by ``AnglE.fit`` / ``angle-trainer`` beside the Hugging
Face backbone): its pooling, its max length, and what it declares that cannot be exported.

AnglE pools with ``pooling_strategy`` (``cls`` when the file leaves it out, as
``AnglE.from_pretrained`` does): ``cls`` the first token; ``cls_avg`` (CLS + masked mean) / 2;
``cls_max`` (CLS + max) / 2; ``avg`` / ``mean`` the mean over real tokens; ``max`` the max;
``last`` the last real token under right padding; an integer, the token at that position.
``max`` and ``cls_max`` equal AnglE's vectors one text at a time, not AnglE's padded batches:
AnglE takes the max over padding positions too (zeroed by the mask), so a text whose feature
is negative everywhere gets 0 there in a batch with longer texts; the graphs take the max over
real tokens only, the same vector in any batch. An LLM backbone (``is_llm``), LoRA adapters
(``apply_lora``), ``sum`` (AnglE 0.6.1 raises NotImplementedError for it: in AnglE it names a
training-loss setting), a token index other than 0, and any other strategy are refused with the
reason, never approximated; left padding is refused in ``padding_side``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ese.exporter.errors import PoolingError
from ese.exporter.source.model_json import (
    json_object,
    optional_bool,
    optional_positive_int,
    optional_str,
    read_json_file,
)
from ese.format import Pooling
from ese.format.errors import UserError

ANGLE_FILE = "angle_config.json"
ANGLE_STRATEGIES = {
    "cls": Pooling.CLS,
    "cls_avg": Pooling.CLS_AVG,
    "cls_max": Pooling.CLS_MAX,
    "avg": Pooling.MEAN,
    "mean": Pooling.MEAN,
    "max": Pooling.MAX,
    "last": Pooling.LAST_TOKEN,
}
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")


@dataclass(frozen=True)
class AngleConfig:
    """What ``angle_config.json`` declares; built only through ``from_json``."""

    pooling_strategy: str | int | None
    max_length: int | None
    is_llm: bool
    apply_lora: bool
    padding_side: str | None
    where: str = ANGLE_FILE

    @classmethod
    def from_json(cls, value: object, where: str = ANGLE_FILE) -> AngleConfig:
        data = json_object(value, where)
        strategy = data.get("pooling_strategy")
        if strategy is not None and (
            isinstance(strategy, bool) or not isinstance(strategy, (str, int))
        ):
            raise PoolingError(
                f"{where}: pooling_strategy is a {type(strategy).__name__}; AnglE declares a "
                f"name ({', '.join(ANGLE_STRATEGIES)}) or a token index; pass --pooling instead"
            )
        side = optional_str(data, "tokenizer_padding_side", where)
        if side not in (None, "left", "right"):
            raise UserError(
                f"{where}: tokenizer_padding_side is {side!r}; expected left, right or null"
            )
        return cls(
            pooling_strategy=strategy,
            max_length=optional_positive_int(data, "max_length", where),
            is_llm=bool(optional_bool(data, "is_llm", where)),
            apply_lora=bool(optional_bool(data, "apply_lora", where)),
            padding_side=side,
            where=where,
        )

    def refusal(self) -> str | None:
        """Why these weights cannot be exported as AnglE ran them (whatever the pooling)."""
        if self.is_llm:
            return (
                f"{self.where} declares is_llm: an AnglE LLM backbone is a decoder, which cannot "
                "be cut by depth; only encoder backbones are exported"
            )
        if self.apply_lora:
            return (
                f"{self.where} declares apply_lora: the LoRA adapters are not merged into the "
                "weights; merge them (peft's merge_and_unload), save the merged backbone with "
                "save_pretrained, and set apply_lora to false"
            )
        return None

    def pooling(self) -> Pooling:
        """The declared strategy as a graph pooling, or PoolingError with the reason."""
        strategy = "cls" if self.pooling_strategy is None else self.pooling_strategy
        if isinstance(strategy, str) and strategy.isascii() and strategy.isdigit():
            strategy = int(strategy) if len(strategy) <= 12 else 10**12
        if isinstance(strategy, int):
            if strategy == 0:
                return Pooling.CLS
            raise PoolingError(f"{self.where}: {_index_refusal(strategy)}")
        if strategy == "sum":
            raise PoolingError(
                f"{self.where}: pooling_strategy 'sum' is not an AnglE pooling (AnglE 0.6.1 "
                "raises NotImplementedError for it; in AnglE, sum names a training-loss "
                "setting); pass --pooling with the pooling the model was trained with "
                "(--pooling sum sums the token vectors)"
            )
        mode = ANGLE_STRATEGIES.get(strategy)
        if mode is None:
            raise PoolingError(
                f"{self.where}: pooling_strategy {strategy[:40]!r} is not one the graphs can "
                f"reproduce ({', '.join(ANGLE_STRATEGIES)}, or token index 0); pass --pooling"
            )
        return mode


def _index_refusal(index: int) -> str:
    """Why a token-index strategy other than 0 is refused: AnglE indexes the padded batch."""
    if index < 0:
        return (
            f"pooling_strategy {index} pools position {index} of AnglE's padded batch: a real "
            "token only for the batch's longest texts, a padding token's output for every "
            "shorter one, so AnglE's vectors depend on the batch; only index 0 (the CLS token) "
            "is exported; pass --pooling last for the last real token, or another --pooling"
        )
    return (
        f"pooling_strategy {index} pools position {index} of AnglE's padded batch: a padding "
        f"token's output for a text shorter than {index + 1} tokens in a batch with longer "
        "ones (and an IndexError when every text is), so AnglE's vectors depend on the batch; "
        "only index 0 (the CLS token) is exported; pass --pooling to choose another pooling"
    )


def read_angle_config(path: Path) -> AngleConfig | None:
    """``path/angle_config.json`` parsed (None without one); refuses unmerged LoRA adapters."""
    config_file = path / ANGLE_FILE
    if not config_file.is_file():
        return None
    config = AngleConfig.from_json(read_json_file(config_file), str(config_file))
    adapters = [name for name in _ADAPTER_FILES if (path / name).is_file()]
    reason = config.refusal()
    if reason is None and adapters:
        reason = (
            f"{path} holds LoRA adapter files ({', '.join(adapters)}) that are not merged into "
            "the weights; merge them (peft's merge_and_unload) and save the merged backbone"
        )
    if reason is not None:
        raise UserError(reason)
    return config
