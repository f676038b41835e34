"""A loaded graph's input and output names checked against the graph contract, by any backend."""

from __future__ import annotations

from collections.abc import Sequence

from ese.format.contract import ATTENTION_MASK, INPUT_IDS, OUTPUT, TOKEN_TYPE_IDS
from ese.format.errors import IntegrityError

CONTRACT_INPUTS = (INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS)


def contract_input_names(
    graph: str, inputs: Sequence[str], outputs: Sequence[str], *, extra_inputs: bool = False
) -> tuple[str, ...]:
    """The contract inputs ``graph`` takes, in feed order; a graph off the contract is refused.

    ``extra_inputs`` lets names beyond the contract's pass, as the OpenVINO runner always has
    (it lists every tensor name of each input port).
    """
    required = {INPUT_IDS, ATTENTION_MASK}
    names = set(inputs)
    if not required <= names or not (extra_inputs or names <= set(CONTRACT_INPUTS)):
        raise IntegrityError(
            f"{graph} has inputs {list(inputs)}; the graph contract is input_ids, "
            "attention_mask and optionally token_type_ids: re-export the model"
        )
    if OUTPUT not in outputs:
        raise IntegrityError(
            f"{graph} has outputs {list(outputs)}, not {OUTPUT!r}: re-export the model"
        )
    return tuple(n for n in CONTRACT_INPUTS if n in names)
