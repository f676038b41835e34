"""The command-line layer every ``ese-*`` script shares, and ``ese-embed`` itself.

Public to the other ese packages (the console runner, argparse value types, budget flags,
staged output directories and their kinds, progress); its submodules are private (an
import-linter contract in pyproject.toml enforces it).
"""

from ese.runtime.cli.budget_flags import add_budget_flags, add_precision_flag, budget_from
from ese.runtime.cli.console import ArgumentParser, ExitCode, run_console
from ese.runtime.cli.options import options_from_args
from ese.runtime.cli.output_dir import (
    MARKER_FILE,
    Inputs,
    OutputKind,
    carried_over,
    check_output_dir,
    check_writable,
    has_marker,
    marked_kind,
    staged_additions,
    staged_output_dir,
    write_marker,
)
from ese.runtime.cli.output_kinds import (
    EXPORT_DIR,
    EXPORT_GRAPHS,
    add_export_dir_argument,
    is_export_dir,
)
from ese.runtime.cli.progress import Progress
from ese.runtime.cli.values import (
    comma_items,
    comma_list,
    int_list,
    non_negative_float,
    non_negative_int,
    number_at_least,
    positive_float,
    positive_int,
    providers_arg,
    thread_count,
)

__all__ = [
    "EXPORT_DIR",
    "EXPORT_GRAPHS",
    "MARKER_FILE",
    "ArgumentParser",
    "ExitCode",
    "Inputs",
    "OutputKind",
    "Progress",
    "add_budget_flags",
    "add_export_dir_argument",
    "add_precision_flag",
    "budget_from",
    "carried_over",
    "check_output_dir",
    "check_writable",
    "comma_items",
    "comma_list",
    "has_marker",
    "int_list",
    "is_export_dir",
    "marked_kind",
    "non_negative_float",
    "non_negative_int",
    "number_at_least",
    "options_from_args",
    "positive_float",
    "positive_int",
    "providers_arg",
    "run_console",
    "staged_additions",
    "staged_output_dir",
    "thread_count",
    "write_marker",
]
