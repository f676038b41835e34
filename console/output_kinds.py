"""The output kinds on the command line: the export directory (the ``DIR`` every command reads,
recognised by its manifest) and the other artefacts ``--force`` may replace, so that one
command checks another's output before it starts (``ese-export --triton``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ese.console.output_dir import MARKER_FILE, OutputKind, marked_kind
from ese.format.contract import GRAPHS_DIR, MANIFEST_FILE, PROFILES_DIR, TOKENIZER_DIR
from ese.format.errors import EseError
from ese.format.manifest import read_manifest


def add_export_dir_argument(parser: argparse.ArgumentParser) -> None:
    """The positional ``DIR`` (``args.export_dir``, a Path): one name and help in every command."""
    parser.add_argument(
        "export_dir", type=Path, metavar="DIR", help="an export directory (from ese-export)"
    )


def is_export_dir(path: Path) -> bool:
    """True when ``path/manifest.json`` is a regular file that parses as an ese manifest."""
    manifest = Path(path) / MANIFEST_FILE
    if manifest.is_symlink() or not manifest.is_file():
        return False
    try:
        read_manifest(Path(path))
    except (EseError, OSError, ValueError, TypeError, AttributeError, OverflowError):
        return False  # unreadable or not ours: never replaced
    return True


def _graphs_of_an_export(path: Path) -> bool:
    return Path(path).name == GRAPHS_DIR and is_export_dir(Path(path).parent)


# What a forced re-export replaces: the export itself, and profiles/, whose latencies are keyed
# by depth and precision, not by graph content, so they would be read as the new graphs'.
# Everything else in DIR is carried over: the user's own files, .git/, reports/, and engines/
# (each engine records the sha256 of the graph it was built from and is refused once stale).
EXPORT_REPLACES = frozenset({MANIFEST_FILE, GRAPHS_DIR, TOKENIZER_DIR, PROFILES_DIR, MARKER_FILE})

EXPORT_DIR = OutputKind(
    "ese-export",
    "an export directory (its manifest.json is an ese manifest)",
    is_export_dir,
    replaces=EXPORT_REPLACES,
)
EXPORT_GRAPHS = OutputKind(
    "ese-variants",
    f"the {GRAPHS_DIR}/ directory of an ese export",
    _graphs_of_an_export,
    flag="the export's graphs directory",
)
# What ese-triton's --force may replace: a repository it wrote (it holds the marker file).
TRITON_REPOSITORY = marked_kind("ese-triton", "a Triton model repository written by ese-triton")
