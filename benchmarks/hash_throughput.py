"""Benchmark: the cost of the checkpoint content hash in the run identity, on a 1 GB weight file.

    python benchmarks/hash_throughput.py [--size-mb 1024] [--repeat 3] [--dir /tmp]

Writes a file of random bytes, reads it once so that it is in the page cache (as it is right after training,
or on the second of several runs), then times each hash over the whole file, best of `--repeat`:
- sha256 (hashlib, 8 MiB reads): the peer every figure is a ratio to;
- blake2b (hashlib) and xxh3_128 (the `xxhash` package, when installed), for reference;
- plain reads: the floor any hash of the file pays;
- BLAKE3 on one thread with the same reads, and mabench's `filehash.file_hash` (BLAKE3, memory-mapped, all
  cores), and `filehash.folder_hash` on a folder holding the file (what a run computes).
A cold cache makes every hash read-bound: the disk's speed is then the cost, for hashing and loading alike.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mabench.backends.filehash import file_hash, folder_hash

CHUNK = 8 << 20


def streamed(make: Callable[[], object]) -> Callable[[Path], str]:
    def run(path: Path) -> str:
        digest = make()
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        with path.open("rb", buffering=0) as f:
            while n := f.readinto(buffer):
                digest.update(view[:n])  # type: ignore[attr-defined]
        return str(digest.hexdigest())  # type: ignore[attr-defined]
    return run


def read_only(path: Path) -> str:
    buffer = bytearray(CHUNK)
    with path.open("rb", buffering=0) as f:
        while f.readinto(buffer):
            pass
    return ""


def best(fn: Callable[[Path], str], path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where the test file goes (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp) / "checkpoint"
        folder.mkdir()
        weights = folder / "model.safetensors"
        with weights.open("wb") as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1 << 20))
        read_only(weights)  # warm the page cache
        peers: dict[str, Callable[[Path], str]] = {
            "read only (floor)": read_only,
            "sha256 (hashlib)": streamed(hashlib.sha256),
            "blake2b (hashlib)": streamed(hashlib.blake2b),
        }
        try:
            import xxhash

            peers["xxh3_128 (xxhash, not cryptographic)"] = streamed(xxhash.xxh3_128)
        except ImportError:
            pass
        import blake3

        peers["blake3, one thread, 8 MiB reads"] = streamed(blake3.blake3)
        peers["mabench file_hash (blake3, mmap, all cores)"] = file_hash
        peers["mabench folder_hash (what a run computes)"] = lambda _: folder_hash(folder)
        size_gb = args.size_mb / 1024
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
              f"file: {args.size_mb} MiB of random bytes, page cache warm, best of {args.repeat}")
        times = {name: best(fn, weights, args.repeat) for name, fn in peers.items()}
        sha = times["sha256 (hashlib)"]
        print(f"{'hash':45} {'seconds':>8} {'GiB/s':>7} {'speed vs sha256':>16}")
        for name, seconds in times.items():
            print(f"{name:45} {seconds:8.3f} {size_gb / seconds:7.2f} {sha / seconds:15.2f}x")
        ours = times["mabench folder_hash (what a run computes)"]
        print(f"ratio sha256 / mabench folder_hash: {sha / ours:.2f}x; mabench cost per GiB: {ours / size_gb:.3f} s")


if __name__ == "__main__":
    main()
