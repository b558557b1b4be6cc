"""The program side of the in-sandbox runtime: run the code, then the tests, and say how they ended.

Stdlib only: shipped into the sandbox as source text, like ``worker.py``. ``execute`` runs in the
program process, after the worker's setup, with only descriptors 0, 1 and 2 open. It reports
through ``report``, an anonymous shared page (no descriptor) that the worker reads once this
process and everything it started are dead:

    report[0]          how the run ended (``OUTCOMES``); written by this function, so the
                       program can overwrite it, but it only ever tells failures apart
    report[1:1+n]      the worker's token for this program, written only after the tests
                       returned, only in this process (not in a fork of it)

A pass is the token, and the token is nowhere but in this process's memory: the program can
write to the page if it finds it, but it can only write a pass by reading the harness's memory
(frames, objects, /proc/self/mem). Everything this function needs once the program has started
is bound to local names before it starts, so replacing builtins, ``os``/``sys`` functions,
``sys.stdout`` or exception classes cannot redirect it. The tests run with the builtins as they
were before the program ran. See docs/sandbox.md for what remains possible.
"""

from __future__ import annotations

import builtins
import linecache
import mmap
import os
import sys
import traceback
import types
from collections.abc import Callable
from typing import NoReturn

PASSED, FAILED, MEMORY = ord("P"), ord("F"), ord("M")  # report[0]
PROGRAM_EXIT, TESTS_EXIT, INTERRUPTED = ord("S"), ord("T"), ord("K")
OUTCOMES = {
    PASSED: "passed", FAILED: "failed", MEMORY: "memory",
    PROGRAM_EXIT: "SystemExit raised by the program before its tests ran",
    TESTS_EXIT: "SystemExit raised while the tests ran",
    INTERRUPTED: "KeyboardInterrupt raised past the harness",
}
REPORT_SIZE = 64
# Audit events refused once the program runs: a trace or profile function can jump over the
# tests' lines (frame.f_lineno) and so skip their asserts.
REFUSED_EVENTS = frozenset({
    "sys.settrace", "sys.setprofile", "sys._settraceallthreads", "sys._setprofileallthreads",
    "sys.monitoring.register_callback",
})


def _refusing(events: frozenset[str]) -> Callable[[str, tuple], None]:
    """An audit hook refusing ``events``: a closure over an immutable set, so that patching this
    module afterwards changes nothing (hooks cannot be removed once added)."""
    def hook(event: str, args: tuple) -> None:
        if event in events:
            raise RuntimeError(f"{event} is not available to programs in the mabench sandbox")
    return hook


def execute(code: str, tests: str, token: bytes, report: mmap.mmap, tests_builtins: dict) -> NoReturn:
    """Run ``code`` then ``tests`` in one fresh ``__main__``; never returns. ``tests_builtins``: a copy of
    the builtins made before any program ran (by the worker, once: copying them here would touch, and so
    copy-on-write, a page per builtin in every program)."""
    # Bound before any program code runs: nothing below looks a name up in a module or in builtins
    # once the program has started (``except`` clauses and the outcome codes included).
    exit_, getpid, run, say, is_a, integer = os._exit, os.getpid, exec, print, isinstance, int
    bare_exit, interrupt, out_of_memory, base = SystemExit, KeyboardInterrupt, MemoryError, BaseException
    passed, failed, memory, program_exit, tests_exit, interrupted = (
        PASSED, FAILED, MEMORY, PROGRAM_EXIT, TESTS_EXIT, INTERRUPTED)
    me, proof = getpid(), slice(1, 1 + len(token))
    flushes = (sys.stdout.flush, sys.stderr.flush)  # the real streams' methods (read-only on their type)
    show, stderr = traceback.print_exception, sys.stderr
    main = types.ModuleType("__main__")  # a real __main__, so that pickle finds the program's functions
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    namespace = main.__dict__
    for name, source in (("<program>", code), ("<tests>", tests)):
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    sys.addaudithook(_refusing(REFUSED_EVENTS))
    outcome, status, in_tests = failed, 1, False
    try:
        compiled = compile(code, "<program>", "exec"), compile(tests, "<tests>", "exec")
        run(compiled[0], namespace)
        in_tests = True
        namespace["__builtins__"] = tests_builtins  # what the program did to builtins stays out of the tests
        run(compiled[1], namespace)
        outcome, status = passed, 0
    except bare_exit as stop:  # exit() in the program or in the tests: never a pass
        outcome = tests_exit if in_tests else program_exit
        try:
            status = stop.code if stop.code.__class__ is integer else 0 if stop.code is None else 1
            if not is_a(stop.code, (integer, type(None))):
                say(stop.code, file=stderr)
        except base:  # a hostile exit code: the outcome is decided already
            pass
    except interrupt:
        outcome = interrupted
    except base as error:
        outcome = memory if is_a(error, out_of_memory) else failed
        try:  # noqa: SIM105 (contextlib.suppress is Python code the program could patch)
            show(error.__class__, error, error.__traceback__.tb_next)
        except base:  # printing may run the program's code; the outcome is decided already
            pass
    for flush in flushes:
        try:  # noqa: SIM105 (as above)
            flush()
        except base:  # a closed or broken stream: its output is lost, the verdict is not
            pass
    if getpid() != me:  # a fork of the program got here: only the process the worker waits for reports
        exit_(status & 0xFF)
    if outcome == passed:
        report[proof] = token
    report[0] = outcome
    exit_(status & 0xFF)
