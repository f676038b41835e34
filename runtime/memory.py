"""Process memory as the runtime measures it: resident set, mapped weights counted whole.

ONNX Runtime maps large external initializers (the word-embedding table above all) straight
from ``weights.bin`` instead of copying them. Such pages count in the resident set only once
touched, and which are touched depends on the token ids seen and the kernel's read-ahead: a
batch of random ids made 24 of the 46 MB embedding table resident here. A memory bound must
hold once the server has seen varied text, so :class:`MemoryProbe` counts every mapped
weight page of the graph as resident (Linux, from /proc/self/smaps); elsewhere it falls back
to the plain growth of the resident set.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import mmap
import sys
from dataclasses import dataclass
from pathlib import Path

_MB = 1 << 20
_KB_PER_MB = 1024


@dataclass(frozen=True)
class Mapped:
    """Files mapped into this process under one directory: mapped size and resident part."""

    size_mb: float = 0.0
    resident_mb: float = 0.0


def resident_mb() -> float:
    """This process's current resident set in MB (Linux); its peak elsewhere (0 if unknown)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * mmap.PAGESIZE / _MB
    except (OSError, ValueError, IndexError):
        return _max_rss_mb()


def peak_resident_mb() -> float:
    """This process's peak resident set in MB (Linux: VmHWM); ``ru_maxrss`` elsewhere.

    On Linux ``ru_maxrss`` would also count the parent that forked this process (it is
    carried across exec); VmHWM is this address space's own peak.
    """
    kib = _proc_kib("/proc/self/status", "VmHWM")
    return _max_rss_mb() if kib is None else kib / _KB_PER_MB


def available_mb() -> float | None:
    """Memory the kernel can hand out now without swapping, in MB (Linux: MemAvailable);
    None where it cannot be read."""
    kib = _proc_kib("/proc/meminfo", "MemAvailable")
    return None if kib is None else kib / _KB_PER_MB


def _proc_kib(path: str, key: str) -> int | None:
    """The ``key:   123 kB`` field of a /proc file, in KiB; None where it cannot be read."""
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name == key:
                    return int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _max_rss_mb() -> float:
    """``ru_maxrss`` in MB (KiB on Linux, bytes on macOS); 0 where there is no ``resource``."""
    try:
        import resource  # Unix only
    except ImportError:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MB if sys.platform == "darwin" else peak / _KB_PER_MB


def mapped_under(directory: Path) -> Mapped:
    """Size and resident size of every file mapping under ``directory`` (Linux only)."""
    root = str(Path(directory).resolve())
    size_kb = rss_kb = 0
    inside = False
    try:
        with open("/proc/self/smaps", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, rest = line.partition(" ")
                if not key.endswith(":"):  # a mapping header: "start-end perms off dev inode path"
                    fields = line.split(maxsplit=5)
                    inside = len(fields) == 6 and fields[5].strip().startswith(root + "/")
                elif inside and key == "Size:":
                    size_kb += int(rest.split()[0])
                elif inside and key == "Rss:":
                    rss_kb += int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return Mapped()
    return Mapped(size_mb=size_kb / _KB_PER_MB, resident_mb=rss_kb / _KB_PER_MB)


@dataclass(frozen=True)
class MemoryProbe:
    """A snapshot taken before a session exists; :meth:`growth_mb` measures against it.

    Growth is the resident set's growth, with the mappings under ``weights_dir`` that
    appeared since the snapshot counted at their full size (mappings other sessions already
    held are left out on both sides).
    """

    weights_dir: Path
    resident: float
    mapped: Mapped

    @classmethod
    def start(cls, weights_dir: Path) -> MemoryProbe:
        return cls(Path(weights_dir), resident_mb(), mapped_under(weights_dir))

    def growth_mb(self) -> float:
        now = mapped_under(self.weights_dir)
        untouched = (now.size_mb - self.mapped.size_mb) - (
            now.resident_mb - self.mapped.resident_mb
        )
        return max(0.0, resident_mb() - self.resident + max(0.0, untouched))


def release_freed_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc), so RSS deltas
    measure the next session rather than what the last one left in malloc's free lists."""
    gc.collect()
    trim_heap()


def trim_heap() -> None:
    """Hand malloc's free pages back to the OS (glibc; a no-op elsewhere), without a garbage
    collection: for loops whose buffers are freed by reference counting, where a full
    collection per iteration costs more than the work (~0.3 s with torch loaded)."""
    libc = _libc()
    if libc is None:
        return
    with contextlib.suppress(AttributeError):  # musl has no malloc_trim
        libc.malloc_trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, looked up once (``find_library`` starts ``ldconfig``); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None
