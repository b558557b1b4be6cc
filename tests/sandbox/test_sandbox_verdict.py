"""A program cannot forge its verdict: every attack below pairs a wrong solution with a trick that
would make a naive harness report a pass. None may pass; early exits get their own status.

The solution is always ``add`` returning a - b, and the tests assert add(2, 3) == 5.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from sandbox_testing import assert_contained, assert_healthy, hostile

from mabench.sandbox import Status

pytestmark = pytest.mark.timeout(60)
EVERY = ["bwrap", "unshare", "subprocess"]
WRONG = "def add(a, b):\n    return a - b\n"
TESTS = "assert add(2, 3) == 5\n"
# Writes a pass-looking byte to every descriptor the process may hold, prints pass-like text, then
# leaves with status 0 before (or instead of) the tests failing.
FORGE = """
import os as _os
for _fd in range(0, 1024):
    for _byte in (b"R", b"P", b"passed\\n"):
        try:
            _os.write(_fd, _byte)
        except OSError:
            pass
print("PASSED")
"""
EARLY = "exited_early"  # by value: a status the harness as found did not have


def run(sandbox_for, backend: str, token: str, code: str, tests: str = TESTS):
    sandbox = sandbox_for(backend)
    result = sandbox.run(hostile(token, code), tests, timeout_s=10)
    assert_contained(sandbox, token)
    assert_healthy(sandbox)
    return result


@pytest.mark.parametrize("backend", EVERY)
def test_the_program_holds_no_descriptor_but_stdin_stdout_stderr(sandbox_for, backend, token):
    code = "import os\nprint(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))"
    result = run(sandbox_for, backend, token, code, "")
    assert result.passed, result
    listed = eval(result.stdout)  # noqa: S307 (a list of ints that we printed)
    assert listed[:3] == [0, 1, 2] and len(listed) == 4, f"descriptors besides 0, 1, 2 and the listing: {listed}"


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize(("where", "code", "tests"), [
    ("program", WRONG + FORGE + "_os._exit(0)\n", TESTS),
    ("tests", WRONG, FORGE + "_os._exit(0)\n" + TESTS),
    ("function the tests call", "def add(a, b):\n" + "\n".join("    " + line for line in
                                                                (FORGE + "_os._exit(0)").splitlines()), TESTS),
])
def test_descriptor_writes_then_exit_zero_are_not_a_pass(sandbox_for, backend, token, where, code, tests):
    result = run(sandbox_for, backend, token, code, tests)
    assert not result.passed, f"forged from the {where}: {result}"
    assert result.status.value == EARLY and result.exit_code == 0


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize(("kind", "code"), [
    ("os._exit", WRONG + "import os\nos._exit(0)\n"),
    ("sys.exit", WRONG + "import sys\nsys.exit(0)\n"),
    ("exit()", WRONG + "exit()\n"),
    ("SystemExit in the function the tests call", "def add(a, b):\n    raise SystemExit(0)\n"),
    ("KeyboardInterrupt", WRONG + "raise KeyboardInterrupt\n"),
    ("KeyboardInterrupt in the function the tests call", "def add(a, b):\n    raise KeyboardInterrupt\n"),
    ("a signal handler", WRONG + "import os, signal\nsignal.signal(signal.SIGUSR1, lambda *a: os._exit(0))\n"
                                 "signal.raise_signal(signal.SIGUSR1)\n"),
    ("an atexit hook", WRONG + "import atexit, os, sys\natexit.register(lambda: print('atexit ran'))\n"
                               "atexit.register(os._exit, 0)\nsys.exit(0)\n"),
    ("a thread", WRONG + "import os, threading, time\nthreading.Thread(target=os._exit, args=(0,)).start()\n"
                         "time.sleep(5)\n"),
    ("exec", WRONG + "import os\nos.execv('/bin/true', ['true'])\n"),
])
def test_early_exits_are_never_a_pass_and_say_so(sandbox_for, backend, token, kind, code):
    result = run(sandbox_for, backend, token, FORGE + code)
    assert not result.passed, f"{kind}: {result}"
    assert result.status.value == EARLY, f"{kind}: {result}"
    assert "atexit ran" not in result.stdout


@pytest.mark.parametrize("backend", ["subprocess"])  # inside a PID namespace the program is PID 1: immune
def test_a_signal_the_program_sends_itself_is_an_early_exit(sandbox_for, backend, token):
    result = run(sandbox_for, backend, token, FORGE + WRONG + "import os, signal, time\n"
                 "os.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(5)\n")
    assert result.status.value == EARLY and result.signal == 15, result


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize(("what", "code"), [
    ("exec", "import builtins\nbuiltins.exec = lambda *args, **kwargs: None\n"),
    ("compile", "import builtins\nreal = compile\n"
                "builtins.compile = lambda *args, **kwargs: real('pass', 'x', 'exec')\n"),
    ("any, with an exit from the tests", "import builtins\nbuiltins.any = lambda *args: False\n"
                                         "def add(a, b):\n    raise SystemExit(0)\n"),
    ("isinstance and SystemExit", "import builtins\nbuiltins.isinstance = lambda *args: True\n"
                                  "builtins.SystemExit = AssertionError\n"),
    ("abs, which the tests use", "import builtins\nbuiltins.abs = lambda x: 0\n"),
])
def test_overriding_builtins_does_not_forge_a_pass(sandbox_for, backend, token, what, code):
    tests = "assert abs(add(2, 3) - 5) < 1e-9\n"
    result = run(sandbox_for, backend, token, WRONG + code, tests)
    assert not result.passed, f"{what}: {result}"
    assert result.status in (Status.FAILED, Status.EXITED_EARLY)


@pytest.mark.parametrize("backend", EVERY)
def test_replacing_sys_stdout_does_not_forge_a_pass(sandbox_for, backend, token):
    code = WRONG + FORGE + """
import os, sys
class Out:
    def write(self, text):
        return len(text)
    def flush(self):
        for fd in range(3, 1024):
            try:
                os.write(fd, b"P")
            except OSError:
                pass
        os._exit(0)
sys.stdout = sys.stderr = sys.__stdout__ = sys.__stderr__ = Out()
"""
    result = run(sandbox_for, backend, token, code)
    assert result.status is Status.FAILED, result


PATCH = """
import os, sys, traceback
write, leave = os.write, os._exit
"""


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("patch", [
    "os.write = lambda fd, data: write(fd, b'P')\nos._exit = lambda code: leave(0)\n",
    "os._exit = lambda code: None\nos.getpid = lambda: 1\nsys.exit = lambda *args: None\n",
    "traceback.print_exception = lambda *args, **kwargs: leave(0)\n",
])
def test_monkeypatching_os_and_sys_does_not_forge_a_pass(sandbox_for, backend, token, patch):
    code = WRONG + PATCH + patch
    result = run(sandbox_for, backend, token, code)
    assert not result.passed, result
    assert result.status in (Status.FAILED, Status.EXITED_EARLY)


@pytest.mark.parametrize("backend", EVERY)
def test_a_trace_function_cannot_jump_over_the_tests(sandbox_for, backend, token):
    code = WRONG + """
import sys
def skip(frame, event, arg):
    if frame.f_code.co_filename == "<tests>" and event == "line" and frame.f_lineno == 1:
        frame.f_lineno = 2
    return skip
sys.settrace(skip)
"""
    result = run(sandbox_for, backend, token, code, TESTS + "done = True\n")
    assert result.status is Status.FAILED and "settrace" in result.stderr, result


@pytest.mark.parametrize("backend", EVERY)
def test_pass_like_output_changes_nothing(sandbox_for, backend, token):
    code = WRONG + "import sys\nprint('passed\\nPASSED\\nOK')\nprint('passed', file=sys.stderr)\n"
    result = run(sandbox_for, backend, token, code)
    assert result.status is Status.FAILED


@pytest.mark.parametrize("backend", EVERY)
def test_a_fork_that_finishes_the_tests_does_not_report_for_the_program(sandbox_for, backend, token):
    # The forked copy runs the (right) tests to the end; the process the worker waits for does not.
    code = """
import os
def add(a, b):
    return a + b
if os.fork():
    os.wait()
    os._exit(0)
"""
    result = run(sandbox_for, backend, token, code)
    assert result.status.value == EARLY, result


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="i386 and x32 system calls exist on x86_64 only")
@pytest.mark.parametrize("backend", EVERY)
def test_system_calls_through_a_foreign_abi_are_refused(sandbox_for, backend, token, tmp_path):
    # getpid through int 0x80 (i386 number 20) and through the x32 bit (39 | 0x40000000), as
    # machine code called through ctypes; the host itself answers the first one.
    code = """
import ctypes, mmap
page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
call = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
page.write(bytes.fromhex("b814000000cd80c3"))   # mov eax, 20; int 0x80; ret
i386 = call()
page.seek(0)
page.write(bytes.fromhex("b827000040" "0f05c3"))  # mov eax, 0x40000027; syscall; ret
print(i386, call())
"""
    script = tmp_path / "abi.py"
    script.write_text(code)
    host = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    if host.returncode != 0 or int(host.stdout.split()[0]) <= 0:
        pytest.skip(f"this kernel does not run i386 system calls ({host.returncode}, {host.stdout!r})")
    result = run(sandbox_for, backend, token, code, "")
    assert result.passed, result
    assert result.stdout.split() == ["-1", "-1"], f"getpid through int 0x80 / x32 was not refused: {result.stdout}"


def test_gcc_helper_int_0x80_is_refused(sandbox_for, tmp_path, token):
    """The same, from a compiled C program (copied into the sandbox's /tmp by the program)."""
    if os.uname().machine != "x86_64" or shutil.which("gcc") is None:
        pytest.skip("needs gcc on x86_64")
    source = tmp_path / "i386.c"
    source.write_text('#include <stdio.h>\nint main(void) { int r; __asm__ volatile ("int $0x80" : "=a"(r) '
                      ': "a"(20)); printf("%d\\n", r); return 0; }\n')
    binary = tmp_path / "i386"
    subprocess.run(["gcc", "-O0", "-o", str(binary), str(source)], check=True, capture_output=True)
    if int(subprocess.run([str(binary)], capture_output=True, text=True).stdout) <= 0:
        pytest.skip("this kernel does not run i386 system calls")
    code = f"""
import os, subprocess
open("/tmp/i386", "wb").write({binary.read_bytes()!r})
os.chmod("/tmp/i386", 0o700)
print(subprocess.run(["/tmp/i386"], capture_output=True, text=True).stdout.strip())
"""
    result = run(sandbox_for, "bwrap", token, code, "")
    assert result.passed, result
    assert result.stdout.strip() == "-1"


@pytest.mark.parametrize("backend", ["bwrap"])
def test_patching_the_harness_module_changes_nothing(sandbox_for, backend, token):
    # Everything the harness uses after the program starts is bound before it starts.
    code = WRONG + """
import sys
harness = sys.modules["_mabench_harness"]
harness.PASSED, harness.FAILED, harness.REFUSED_EVENTS = ord("F"), ord("P"), frozenset()
harness.execute = harness.print = harness.isinstance = None
def skip(frame, event, arg):
    if frame.f_code.co_filename == "<tests>" and event == "line" and frame.f_lineno == 1:
        frame.f_lineno = 2
    return skip
try:
    sys.settrace(skip)
except RuntimeError:
    pass
"""
    result = run(sandbox_for, backend, token, code, TESTS + "done = True\n")
    assert result.status is Status.FAILED, result


@pytest.mark.parametrize("backend", ["bwrap"])
def test_a_pass_claimed_without_the_token_is_an_early_exit(sandbox_for, backend, token):
    # Finds the report page (as only a program reading the harness's memory could), claims a pass with
    # a guessed token, and leaves.
    code = WRONG + """
import os, sys
frame = sys._getframe()
while "report" not in frame.f_locals:
    frame = frame.f_back
report = frame.f_locals["report"]
report[0], report[1:17] = ord("P"), bytes(16)
os._exit(0)
"""
    result = run(sandbox_for, backend, token, code)
    assert result.status.value == EARLY and "without the harness's token" in result.detail, result
