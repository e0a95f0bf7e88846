"""The one thread that owns the speech engine, fed by a queue.

pyttsx3 is not thread-safe, and its espeak driver keeps process-wide state (libespeak-ng
is initialised once, and the synthesis callback is a single global), so a process has one
engine and one worker, shared by every `Speech`. Under gevent monkey-patching the thread
is a greenlet; the waits below are patched and yield to the hub.
"""

from __future__ import annotations

import logging
import queue
import threading

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
