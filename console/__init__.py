"""What every ``ese-*`` command shares: the console runner (one table of exit codes, SIGINT and
SIGTERM alike, the offline environment set once), argparse value types, and the staged output
directories that are written whole or not at all. Torch-free; the runtime's ``ese-embed`` uses
it too, so it sits below the runtime and above the export format only.

Its names are imported on first use (PEP 562): the console scripts' launcher
(:mod:`ese.console.launch`) is in this package and must install its signal handlers before
anything but the standard library loads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ese.console.options import options_from_args
    from ese.console.output_dir import (
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
    from ese.console.output_kinds import (
        EXPORT_DIR,
        EXPORT_GRAPHS,
        add_export_dir_argument,
        is_export_dir,
    )
    from ese.console.progress import Progress
    from ese.console.runner import ArgumentParser, ExitCode, run_console
    from ese.console.values import (
        comma_items,
        comma_list,
        int_list,
        non_negative_float,
        non_negative_int,
        number_at_least,
        positive_float,
        positive_int,
        providers_arg,
    )

# Each public name: the module that defines it.
_WHERE = {
    "options_from_args": "ese.console.options",
    "MARKER_FILE": "ese.console.output_dir",
    "Inputs": "ese.console.output_dir",
    "OutputKind": "ese.console.output_dir",
    "carried_over": "ese.console.output_dir",
    "check_output_dir": "ese.console.output_dir",
    "check_writable": "ese.console.output_dir",
    "has_marker": "ese.console.output_dir",
    "marked_kind": "ese.console.output_dir",
    "staged_additions": "ese.console.output_dir",
    "staged_output_dir": "ese.console.output_dir",
    "write_marker": "ese.console.output_dir",
    "EXPORT_DIR": "ese.console.output_kinds",
    "EXPORT_GRAPHS": "ese.console.output_kinds",
    "add_export_dir_argument": "ese.console.output_kinds",
    "is_export_dir": "ese.console.output_kinds",
    "Progress": "ese.console.progress",
    "ArgumentParser": "ese.console.runner",
    "ExitCode": "ese.console.runner",
    "run_console": "ese.console.runner",
    "comma_items": "ese.console.values",
    "comma_list": "ese.console.values",
    "int_list": "ese.console.values",
    "non_negative_float": "ese.console.values",
    "non_negative_int": "ese.console.values",
    "number_at_least": "ese.console.values",
    "positive_float": "ese.console.values",
    "positive_int": "ese.console.values",
    "providers_arg": "ese.console.values",
}

__all__ = [
    "EXPORT_DIR",
    "EXPORT_GRAPHS",
    "MARKER_FILE",
    "ArgumentParser",
    "ExitCode",
    "Inputs",
    "OutputKind",
    "Progress",
    "add_export_dir_argument",
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
    "write_marker",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ese.console' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
