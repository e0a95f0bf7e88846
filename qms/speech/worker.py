"""The one thread that owns the speech engine, fed by a queue.

pyttsx3 is not thread-safe, and its espeak driver keeps process-wide state (libespeak-ng
is initialised once, and the synthesis callback is a single global), so a process has one
engine and one worker, shared by every `Speech`. Under gevent monkey-patching the thread
is a greenlet; the waits below are patched and yield to the hub.
"""

from __future__ import annotations

import atexit
import logging
import queue
import shutil
import tempfile
import threading
from pathlib import Path

log = logging.getLogger("qms.speech")


class Future:
    """The result of a job, for callers that wait (``threading.Event`` is gevent-safe
    once patched)."""

    def __init__(self):
        self._done = threading.Event()
        self._value = self._error = None

    def set(self, value=None, error=None):
        self._value, self._error = value, error
        self._done.set()

    def result(self, timeout: float):
        if not self._done.wait(timeout):
            raise TimeoutError("the speech worker did not answer in time")
        if self._error is not None:
            raise self._error
        return self._value


class Worker:
    """Runs jobs one at a time, in the order given."""

    def __init__(self, name: str = "qms-speech"):
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn, *args) -> Future:
        future = Future()
        self._queue.put((fn, args, future))
        return future

    def call(self, fn, *args, timeout: float = 30.0):
        """Run ``fn`` on the worker and wait for its result (or its exception)."""
        return self.submit(fn, *args).result(timeout)

    def _run(self):
        while True:
            fn, args, future = self._queue.get()
            try:
                future.set(fn(*args))
            except Exception as exc:  # a job's failure is its caller's business
                future.set(error=exc)


_shared: Worker | None = None
_shared_lock = threading.Lock()


def shared() -> Worker:
    """The process's speech worker, started on first use (after any monkey-patching)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Worker()
        return _shared


_scratch: Path | None = None


def scratch() -> Path:
    """The worker's own folder for espeak-ng's temporary WAVs. libespeak-ng writes the
    file from its native thread: if that folder vanished meanwhile (a server's data folder
    removed under it), the error would be raised in a C callback where no one can catch
    it. This folder belongs to the process, is made again if something cleaned /tmp, and
    is removed at exit. Call on the worker only."""
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="qms-speech-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    _scratch.mkdir(parents=True, exist_ok=True)
    return _scratch
