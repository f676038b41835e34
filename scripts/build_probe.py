"""Rebuild ``exporter/data/probe.tsv``, the labelled probe ``ese-export`` measures quality on.

    python scripts/build_probe.py ../shared/data/nli/snli_dev_test.triplets.tsv \
        > exporter/data/probe.tsv

1,000 SNLI 1.0 test-split triplets (premise, an entailed hypothesis, a contradicting one),
de-tokenised like the calibration corpus, none sharing a sentence with
``exporter/data/calibration.txt`` (compared on lower-cased letters and digits only), drawn
with seed 0. Deterministic: the same input gives the same file.
"""

from __future__ import annotations

import csv
import random
import re
import sys
from pathlib import Path

CALIBRATION = Path(__file__).resolve().parent.parent / "exporter" / "data" / "calibration.txt"
SIZE = 1000


def detokenise(text: str) -> str:
    text = re.sub(r" ([.,!?;:%)'])", r"\1", text.strip())
    text = re.sub(r"([($]) ", r"\1", text)
    return text.replace(" n't", "n't").replace(" 's", "'s")


def text_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def main(source: str) -> int:
    calibration = {text_key(t) for t in CALIBRATION.read_text("utf-8").splitlines() if t.strip()}
    triplets = []
    with open(source, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        for split, *texts in rows:
            row = tuple(detokenise(t) for t in texts)
            if split == "test" and not any(text_key(t) in calibration for t in row):
                triplets.append(row)
    triplets = sorted(set(triplets))
    random.Random(0).shuffle(triplets)
    out = sys.stdout
    out.write("anchor\tpositive\tnegative\n")
    for row in triplets[:SIZE]:
        out.write("\t".join(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
