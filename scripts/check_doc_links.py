"""Check that every relative link in the user docs resolves: ``python scripts/check_doc_links.py``.

Reads README.md, docs/*.md, training/README.md, benchmarks/README.md and the results notes under
studies/; every Markdown link ``[text](target)`` that is not a URL must name an existing file or
folder of the repository, and a ``#fragment`` into a Markdown file must name one of its headings
(GitHub's anchor rule).
Prints each broken link as ``FILE:LINE: target (why)`` and exits 1 if there is one, else 0.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/*.md", "training/README.md", "benchmarks/README.md", "studies/**/*.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")
FENCE = re.compile(r"^\s*```")


def doc_files(root: Path) -> list[Path]:
    return sorted({p for pattern in DOCS for p in root.glob(pattern) if p.is_file()})


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    found, fenced = set(), False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            found.add(anchor(m.group(1)))
    return found


def broken_links(doc: Path, root: Path) -> list[str]:
    problems, fenced = [], False
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        if fenced:
            continue
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path_part, _, fragment = target.partition("#")
            path = (doc.parent / path_part).resolve() if path_part else doc
            where = f"{doc.relative_to(root)}:{number}: {target}"
            if not path.exists():
                problems.append(f"{where} (no such file)")
            elif root not in path.parents and path != root:
                problems.append(f"{where} (outside the repository)")
            elif fragment and path.suffix == ".md" and fragment not in anchors(path):
                problems.append(f"{where} (no heading #{fragment})")
    return problems


def main(root: Path = ROOT) -> int:
    problems = [p for doc in doc_files(root) for p in broken_links(doc, root)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
