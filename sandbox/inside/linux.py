"""Linux primitives for the in-sandbox runtime: namespaces, mounts, capabilities, reaping.

Stdlib only (ctypes): like ``worker.py`` it is shipped into the sandbox as source text.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import struct

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x20000000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
PR_SET_CHILD_SUBREAPER, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 36, 47, 4
_PIVOT_ROOT_SYSCALL = {"x86_64": 155, "aarch64": 41, "riscv64": 41}
_CAP_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def prctl(option: int, arg: int = 0) -> int:
    return _libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def unshare(flags: int) -> None:
    check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    check(_libc.setns(fd, nstype), "setns")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def set_caps(keep: list[int], bounding: bool = True) -> None:
    """Shrink the ambient, effective, permitted (and bounding) capability sets to ``keep``."""
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in range(64 if bounding else 0):
        if cap not in keep:
            prctl(PR_CAPBSET_DROP, cap)  # fails harmlessly past the last cap or without SETPCAP
    mask = sum(1 << cap for cap in keep)
    low, high = mask & 0xFFFFFFFF, mask >> 32
    data = (_CapData * 2)(_CapData(low, low, 0), _CapData(high, high, 0))
    check(_libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data), "capset")


def has_caps() -> bool:
    data = (_CapData * 2)()
    check(_libc.capget(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data), "capget")
    return any(d.effective or d.permitted for d in data)


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# arch -> (AUDIT_ARCH value, unshare, clone, clone3 syscall numbers, bit that marks another ABI's numbers)
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 272, 56, 435, 0x40000000), "aarch64": (0xC00000B7, 97, 220, 435, 0)}
SECCOMP_ARCHES = tuple(_SECCOMP_ARCH)


def prepare_seccomp_filter() -> tuple | None:
    """The filter that ``install_seccomp_filter`` installs, built once per worker rather than per
    program; None where the architecture is unknown.

    Unshare/clone with CLONE_NEWUSER fail with EPERM, clone3 with ENOSYS (glibc then falls back to
    clone). System calls through another ABI (i386 ``int 0x80`` and x32 on x86_64, arm32 on
    aarch64) fail with EPERM: the rules below only speak of the native numbers, and a foreign
    ABI's numbers mean other calls."""
    arch = _SECCOMP_ARCH.get(os.uname().machine)
    if arch is None:
        return None
    audit_arch, nr_unshare, nr_clone, nr_clone3, foreign_bit = arch
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JSET|K, BPF_RET|K
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    foreign_numbers = [(jset, 0, 1, foreign_bit), (ret, 0, 0, eperm)] if foreign_bit else []  # x32: refused
    program = [
        (ld, 0, 0, 4), (jeq, 1, 0, audit_arch), (ret, 0, 0, eperm),  # another ABI (i386, arm32): refused
        (ld, 0, 0, 0),  # syscall number
        *foreign_numbers,
        (jeq, 0, 1, nr_clone3), (ret, 0, 0, enosys),
        (jeq, 1, 0, nr_unshare), (jeq, 0, 3, nr_clone),
        (ld, 0, 0, 16), (jset, 0, 1, CLONE_NEWUSER), (ret, 0, 0, eperm),  # flags: first argument
        (ret, 0, 0, allow),
    ]
    filters = (_SockFilter * len(program))(*(_SockFilter(*op) for op in program))
    return filters, _SockFprog(len(program), filters)  # the array must live as long as the header


def install_seccomp_filter(prepared: tuple | None) -> bool:
    """Install a filter from ``prepare_seccomp_filter``. Needs no_new_privs. False without one."""
    if prepared is None:
        return False
    check(_libc.prctl(22, 2, ctypes.byref(prepared[1]), 0, 0), "seccomp")  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    return True


def children() -> list[int]:
    found: list[int] = []
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as f:
            found += [int(pid) for pid in f.read().split()]
    return found


def sweep_children() -> None:
    """Kill and reap every child. As a subreaper we inherit orphans, so repeat until none."""
    while True:
        for pid in children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def private_tmp(size_mb: int) -> None:
    """In a fresh mount namespace: new, size-capped tmpfs on /tmp and /dev/shm."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    for path in ("/tmp", "/dev/shm"):
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,nr_inodes=16384,mode=1777")


def build_rootfs(spec: dict) -> None:
    """Assemble a read-only root from host binds and pivot into it (the unshare backend;
    bwrap builds the same layout itself)."""
    root = spec["staging"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    for source, dest in spec["binds"]:
        target = root + dest
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        mount(source, target, None, MS_BIND | MS_REC)
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for link_target, path in spec["symlinks"]:
        os.symlink(link_target, root + path)
    for directory in ("/tmp", "/proc", "/dev"):
        os.makedirs(root + directory, exist_ok=True)
    mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=64k")
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        open(f"{root}/dev/{name}", "a").close()
        mount(f"/dev/{name}", f"{root}/dev/{name}", None, MS_BIND)
    os.mkdir(root + "/dev/shm")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    number = _PIVOT_ROOT_SYSCALL.get(os.uname().machine)
    if number is not None:
        check(_libc.syscall(number, b".", b"."), "pivot_root")
        check(_libc.umount2(b".", MNT_DETACH), "umount old root")
    else:  # no syscall number known here: move the new root over / instead
        mount(".", "/", None, MS_MOVE)
        os.chroot(".")
    os.chdir("/")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _loopback_up()
    set_caps(spec["keep_caps"])


def _loopback_up() -> None:
    import fcntl
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # SIOCSIFFLAGS: UP|LOOPBACK|RUNNING
        fcntl.ioctl(sock, 0x8914, struct.pack("16sh", b"lo", 0x1 | 0x8 | 0x40))
