"""mmf: named variables shared between processes on one Linux host, through a
memory-mapped namespace, with lock-free reads.

    import mmf
    with mmf.Namespace("MyApp.Data", size=1 << 20) as ns:
        ns["quote"] = b"1.08765"        # bytes: exactly what C, Perl and the mmf tool read
        ns["config"] = {"a": [1, 2]}    # other objects are pickled (and tagged as such)
        v = ns.version("quote")
        ns.wait("quote", v, timeout=5)  # True once another process writes it

Values: bytes, bytearray and memoryview are stored as their bytes and read
back as bytes; str is stored as UTF-8 text and read back as str; any other
object is pickled and read back unpickled. Values written by C, by the mmf
tool or by Perl read as bytes (Perl's Storable values too). Unpickling runs
code chosen by whoever wrote the value: share a namespace only with programs
you trust (a namespace is created 0600, for its owner only).

Exceptions: Error (.code is the C library's MMF_E* code) and its subclasses
NotFound (also FileNotFoundError: no such namespace), Exists
(FileExistsError), NoSpace, Timeout (TimeoutError), Corrupt,
PermissionDenied (PermissionError), InvalidArgument (ValueError) and
NotLocked. A missing variable is a KeyError; bad arguments are TypeError or
ValueError.
"""
from collections.abc import MutableMapping as _MutableMapping

from . import _mmf
from ._mmf import (
    Corrupt,
    Error,
    Exists,
    InvalidArgument,
    Lock,
    NoSpace,
    NotFound,
    NotLocked,
    PermissionDenied,
    Timeout,
    Var,
    __version__,
    strerror,
    unlink,
    DEFAULT_SIZE,
    KEY_MAX,
    NAME_MAX,
    TAG_BYTES,
    TAG_PICKLE,
    TAG_STORABLE,
    TAG_STORABLE_LIST,
    TAG_TEXT,
)

__all__ = [
    "Namespace", "Var", "Lock", "unlink", "strerror", "Error", "NotFound", "Exists", "NoSpace",
    "Timeout", "Corrupt", "PermissionDenied", "InvalidArgument", "NotLocked",
]


class Namespace(_mmf.Namespace, _MutableMapping):
    """Namespace(name, size=0, path=None, *, reuse=False, exclusive=False,
              autolock=True, timeout=10.0, mode=0o600, max_size=0,
              readonly=False, transient=False, spin=0.0, max_vars=0, debug=False)

    Opens, or creates, the namespace name: the POSIX shared-memory object
    /dev/shm/name, or the backing file path. Every keyword is the C
    library's mmf_options field of the same name:

      size       bytes, when creating (0: 1 MiB)
      path       backing file (str, bytes or os.PathLike); None: shared memory
      reuse      attach only: mmf.NotFound if it does not exist
      exclusive  create only: mmf.Exists if it exists
      autolock   False: writes need the lock held (with ns.lock(): ...)
      timeout    seconds a write waits for the namespace lock (0 or None: for ever)
      mode       permission bits, when creating
      max_size   growth ceiling in bytes (0: 1 GiB, or size if larger)
      readonly   attach read-only: reads work, writes raise mmf.PermissionDenied
      transient  removed when the last process using it closes it or dies
      spin       seconds wait() polls before it sleeps
      max_vars   variables to make room for at first, when creating (0: from size)
      debug      diagnostics to stderr

    A Namespace is a MutableMapping of str names (1..255 bytes of UTF-8, no
    NUL; bytes names work too) to values:

        ns["k"] = b"raw"; ns["t"] = "text"; ns["o"] = {"a": 1}
        ns["k"]; ns.get("k"); del ns["k"]; "k" in ns; len(ns); list(ns)

    plus versions, compare-and-set, counters and change notification
    (version, cas, add, wait), the namespace lock (lock), handles on single
    variables (var), stats, check and dump. close() unmaps it; it is also a
    context manager. Threads may share one Namespace, and a forked child may
    use its parent's; another process (multiprocessing's spawn too) opens the
    namespace by its name. Reads never take a lock; calls that may wait
    (writes, wait, lock, check, dump) release the GIL.
    """

    __slots__ = ()
