"""Output directories written whole or not at all, and replaced only when this toolchain made them.

Every command that writes a directory goes through here (standard library only, so every ese
package may use it):

1. ``check_output_dir`` before any work. ``--out`` is never followed through a symbolic link;
   a path under a file, or in a directory that cannot be written, is refused as exactly that.
   An existing directory is replaced only with ``force`` and only when it is empty or its
   ``OutputKind`` recognises it as made by the command (an export's manifest, a marker file);
   never the current directory or one of its parents, the home directory or one of its
   parents, nor anything that is or holds an input of the command.
2. ``staged_output_dir`` stages the whole directory in a temporary sibling
   (``.NAME.partial-<pid>-*``), checks again when the block ends, and swaps it into place.
   Any exception (``KeyboardInterrupt``, and ``SIGTERM`` once the CLI layer turns it into an
   exception, included) removes the stage and any parents it created; the old directory
   is left as it was. Nothing named ``.NAME.partial-*`` or ``.NAME.old-*`` outlives a run;
   ones left by a killed process (``SIGKILL``, power loss) are removed by the next run,
   except an old copy whose swap never finished (killed between its two renames, so NAME is
   missing): the next run renames that copy back to NAME first.
   A kind that names what it ``replaces`` (an export: its manifest, graphs/, tokenizer/ and
   profiles/) carries every other entry of the old directory (the user's notes, .git/,
   engines/, reports/) into the new one, as hard links made before the swap, so that a run
   stopped at any point leaves them in the old directory or in the new one.
   SIGINT and SIGTERM wait while the swap runs (``signals_deferred``).
3. ``staged_additions`` does the same for files added into a directory that stays (variant
   graphs into ``graphs/``, a report into ``reports/``); ``then`` runs with the merge, signals
   deferred, for what must change together with the files (the manifest listing them).
"""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ese.console.environment_errors import as_os_error, storage_error, writing_into
from ese.console.errors import OutputDirError
from ese.console.runner import raise_if_interrupted, signals_deferred
from ese.format.fresh_paths import fresh_dir, fresh_file

MARKER_FILE = ".ese-output.json"
_PARTIAL, _OLD = "partial", "old"
_SHOWN_ENTRIES = 3


@dataclass(frozen=True)
class OutputKind:
    """What a command writes: its name, what it replaces, and how it recognises one it made.

    ``marks``: the command writes ``MARKER_FILE`` naming ``tool`` into every directory it
    writes, and ``made_here`` should recognise it (``has_marker``). ``flag``: how messages
    name the path (the option that gave it). ``replaces``: the top-level names of an old
    directory that the new one replaces; every other entry is carried into the new one
    (None: the whole old directory is replaced).
    """

    tool: str
    what: str
    made_here: Callable[[Path], bool]
    marks: bool = False
    flag: str = "--out"
    replaces: frozenset[str] | None = None

    def named(self, path: Path) -> str:
        return f"{self.flag} {path}"


def marked_kind(tool: str, what: str) -> OutputKind:
    """A kind recognised by the marker file ``tool`` writes into every directory it makes."""

    def made_here(path: Path) -> bool:
        return has_marker(path, tool)

    return OutputKind(tool, f"{what} (it holds {MARKER_FILE})", made_here, marks=True)


def write_marker(directory: Path, tool: str) -> None:
    (Path(directory) / MARKER_FILE).write_text(
        json.dumps({"tool": tool, "format": 1}) + "\n", encoding="utf-8"
    )


def has_marker(directory: Path, tool: str) -> bool:
    """True when ``directory`` holds a (regular, not linked) marker naming ``tool``."""
    path = Path(directory) / MARKER_FILE
    if path.is_symlink() or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("tool") == tool


Inputs = Sequence[tuple[str, Path]]


def check_output_dir(out: Path, kind: OutputKind, *, force: bool, inputs: Inputs = ()) -> None:
    """Refuse, before any work, an ``out`` this command must not write or replace.

    ``inputs``: (description, path) pairs ``out`` must neither be nor hold.
    """
    path = _existing_dir(out, kind)
    if path is None:
        return
    if not force:
        raise OutputDirError(
            f"{kind.named(out)} already exists; pass --force to replace it (only {kind.what} "
            "or an empty directory is replaced), or choose another path"
        )
    _check_replaceable(out, path, kind, inputs)


def check_addable(into: Path, kind: OutputKind, *, inputs: Inputs = ()) -> None:
    """Refuse a directory that files must not be added to: the rules of a forced replace."""
    path = _existing_dir(into, kind)
    if path is not None:
        _check_replaceable(into, path, kind, inputs)


def carried_over(out: Path, kind: OutputKind) -> list[str]:
    """The entries of an existing ``out`` that a forced replace carries into the new output."""
    path = _absolute(out)
    if kind.replaces is None or path.is_symlink() or not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.name not in kind.replaces)


def check_writable(directory: Path, named: str) -> None:
    """Refuse, before any work, a directory the command will write into but cannot (read-only
    file system, permission denied): a probe file is created there and removed."""
    try:
        fd, probe = fresh_file(Path(directory), ".ese-write-check-")
    except OSError as exc:
        error = storage_error(exc, f"{named} ({directory})")
        if error is None:
            raise
        raise error from exc
    os.close(fd)
    probe.unlink()


def _existing_dir(out: Path, kind: OutputKind) -> Path | None:
    """``out`` made absolute when it is an existing directory; None when nothing is there.
    A link at ``out``, a parent that is a file or not writable, or a file at ``out`` is refused.
    An old copy left by a swap that was killed half-way is first put back at ``out``."""
    path = _absolute(out)
    _refuse_link(kind.named(out), path)
    _check_parents(kind.named(out), path)
    _restore_unfinished_swap(kind.named(out), path)
    if not os.path.lexists(path):
        return None
    if not path.is_dir():
        raise OutputDirError(f"{kind.named(out)} is an existing file; choose a directory path")
    return path


@contextmanager
def staged_output_dir(
    out: Path, kind: OutputKind, *, force: bool, inputs: Inputs = ()
) -> Iterator[Path]:
    """Yield an empty directory beside ``out``; when the block ends normally it becomes ``out``.

    ``out`` is checked before (see ``check_output_dir``) and again just before the swap.
    """
    check_output_dir(out, kind, force=force, inputs=inputs)
    path = _absolute(out)
    with _stage_beside(kind.named(out), path) as stage:
        yield stage
        if kind.marks:
            write_marker(stage, kind.tool)
        check_output_dir(out, kind, force=force, inputs=inputs)
        raise_if_interrupted()  # a signal whose exception Python dropped still rolls back
        with signals_deferred():
            _carry_over(kind.named(out), path, stage, kind)
            _swap_into_place(stage, path)


@contextmanager
def staged_additions(
    into: Path,
    kind: OutputKind,
    *,
    inputs: Inputs = (),
    then: Callable[[], None] | None = None,
) -> Iterator[Path]:
    """Yield an empty directory beside ``into``; on success its files are moved into ``into``.

    Files of ``into`` not in the stage stay; a staged file replaces its namesake atomically.
    ``then`` runs right after the move, SIGINT and SIGTERM held back until both are done.
    """
    check_addable(into, kind, inputs=inputs)
    path = _absolute(into)
    with _stage_beside(kind.named(into), path) as stage:
        yield stage
        if kind.marks:
            write_marker(stage, kind.tool)
        check_addable(into, kind, inputs=inputs)
        raise_if_interrupted()
        with signals_deferred():
            if os.path.lexists(path):
                _merge(stage, path)
            else:
                os.rename(stage, path)
            if then is not None:
                then()


def _absolute(out: Path) -> Path:
    """``out`` made absolute without following it (its parents may be links; it may not)."""
    path = Path(os.path.abspath(out))
    return path.parent.resolve() / path.name


def _refuse_link(named: str, path: Path) -> None:
    if path.is_symlink():
        raise OutputDirError(
            f"{named} is a symbolic link (to {os.readlink(path)}); it is never followed: "
            "name the real directory, or remove the link"
        )


def _check_parents(named: str, path: Path) -> None:
    """A path under a file says so; a directory that cannot be written says permission denied."""
    existing = path.parent
    while not os.path.lexists(existing):
        existing = existing.parent
    if not existing.is_dir():
        raise OutputDirError(
            f"{named} is under {existing}, which is a file, not a directory; "
            "choose a path whose parents are directories"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"cannot write to {existing} (for {named}): permission denied; "
            "choose a directory you can write to"
        )


def _check_replaceable(out: Path, path: Path, kind: OutputKind, inputs: Inputs) -> None:
    named, real = kind.named(out), path.resolve()
    for place, protected in (
        ("the current directory", Path.cwd().resolve()),
        ("your home directory", Path.home().resolve()),
    ):
        if real == protected or real in protected.parents:
            raise OutputDirError(
                f"{named} is {place} or one of its parents; {kind.tool} never replaces "
                "it, even with --force: choose a new directory"
            )
    for description, item in inputs:
        held = Path(item).resolve()
        if real == held or real in held.parents:
            raise OutputDirError(
                f"{named} is or holds {description} {item}, which {kind.tool} reads; "
                "choose another path"
            )
    try:
        entries = sorted(p.name for p in path.iterdir())
    except OSError as exc:
        raise OutputDirError(f"cannot list {named}: {exc}") from exc
    if entries and not kind.made_here(path):
        shown = ", ".join(entries[:_SHOWN_ENTRIES])
        shown += ", ..." if len(entries) > _SHOWN_ENTRIES else ""
        raise OutputDirError(
            f"{named} holds files {kind.tool} did not write ({shown}); it only replaces "
            f"{kind.what} or an empty directory, even with --force: move them away or "
            "choose another path"
        )


@contextmanager
def _stage_beside(named: str, path: Path) -> Iterator[Path]:
    """A fresh ``.NAME.partial-<pid>-*`` beside ``path``; removed, with the parents it made,
    on any exception."""
    created = _missing_parents(path.parent)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(path)
        stage = fresh_dir(path.parent, _prefix(path.name, _PARTIAL))  # 0777 less the umask
    except OSError as exc:
        _remove_empty(created)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise OutputDirError(
                f"cannot write to {path.parent} (for {named}): permission denied "
                f"({exc.strerror}); choose a directory you can write to"
            ) from exc
        raise OutputDirError(f"cannot create {named} beside it: {exc}") from exc
    except BaseException:
        _remove_empty(created)
        raise
    try:
        yield stage
    except BaseException as exc:
        _discard(stage)
        _remove_empty(created)
        os_error = as_os_error(exc)
        full = os_error is not None and writing_into(os_error, str(stage))
        error = storage_error(os_error, named) if os_error is not None and full else None
        if error is not None:
            raise error from exc  # a full disk under the stage is told as the output's
        raise


def _carry_over(named: str, path: Path, stage: Path, kind: OutputKind) -> None:
    """Hard-link (copy across file systems) what the new output does not replace into it."""
    for name in carried_over(path, kind):
        if os.path.lexists(stage / name):
            raise OutputDirError(
                f"{named} holds {name}, which {kind.tool} keeps when it replaces the directory, "
                f"but the new output writes {name} too; move {path / name} away and run again"
            )
        source = path / name
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, stage / name, symlinks=True, copy_function=_link_or_copy)
        elif source.is_symlink():
            os.symlink(os.readlink(source), stage / name)
        else:
            _link_or_copy(str(source), str(stage / name))


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(source, target, follow_symlinks=False)


def _swap_into_place(stage: Path, path: Path) -> None:
    if not os.path.lexists(path):
        os.rename(stage, path)
        return
    # An empty reserved name, atomically replaced by the old directory.
    retired = fresh_dir(path.parent, _prefix(path.name, _OLD))
    try:
        os.rename(path, retired)
    except BaseException:
        _discard(retired)
        raise
    try:
        os.rename(stage, path)
    except BaseException:
        os.rename(retired, path)
        raise
    _discard(retired)


def _merge(stage: Path, into: Path) -> None:
    for item in sorted(stage.iterdir()):
        target = into / item.name
        if item.is_dir() and target.is_dir() and not target.is_symlink():
            _merge(item, target)
        else:
            os.replace(item, target)
    _discard(stage)


def _prefix(name: str, what: str) -> str:
    return f".{name}.{what}-{os.getpid()}-"


def _restore_unfinished_swap(named: str, path: Path) -> None:
    """A run killed between the swap's two renames left ``path`` missing and its old copy at
    ``.NAME.old-<pid>-*``: rename that copy back, so that nothing deletes the only one."""
    if os.path.lexists(path) or not path.parent.is_dir():
        return
    head = f".{path.name}.{_OLD}-"
    for item in sorted(path.parent.glob(f"{glob.escape(head)}*")):
        pid = item.name[len(head) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)) or item.is_symlink() or not item.is_dir():
            continue
        try:
            os.rename(item, path)
        except OSError as exc:
            raise OutputDirError(
                f"{named} is missing and {item} holds its previous contents (a run was killed "
                f"while replacing it), but it cannot be renamed back ({exc.strerror}): rename "
                f"it to {path} yourself"
            ) from exc
        return


def _remove_abandoned(path: Path) -> None:
    """Stages and retired copies of ``path`` whose process is gone (killed mid-run)."""
    for what in (_PARTIAL, _OLD):
        head = f".{path.name}.{what}-"
        for item in path.parent.glob(f"{glob.escape(head)}*"):
            pid = item.name[len(head) :].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)) and not item.is_symlink():
                _discard(item)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _discard(path: Path) -> None:
    """Remove ``path``; interrupted once, finish removing before the interrupt goes on."""
    try:
        shutil.rmtree(path, ignore_errors=True)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def _missing_parents(parent: Path) -> list[Path]:
    missing = []
    while not os.path.lexists(parent):
        missing.append(parent)
        parent = parent.parent
    return missing  # deepest first


def _remove_empty(directories: list[Path]) -> None:
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            return
