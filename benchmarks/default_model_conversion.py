"""Benchmark: the one-off conversion of the embedded default model (SmolLM2-135M-Instruct GGUF -> HF folder).

    python benchmarks/default_model_conversion.py [--repeat 1]

In one process, after importing torch, transformers and gguf and reading the GGUF file once (so that neither path
pays the imports or a cold disk), times into temporary folders:
- transformers' own path, `from_pretrained(gguf_file=)` for the model and the tokenizer (the peer: it builds
  gguf.GGUFReader three times), as `gguf_convert.convert_gguf_with_transformers`;
- mabench's `gguf_convert.convert_gguf` (one GGUFReader).
With `--repeat N` the two alternate N times and the best of each is reported. Then it checks that both folders
are byte-identical and have the same `filehash.folder_hash` (part of the run identity), and compares that hash with
the user's cached conversion when there is one. The imports are timed apart: a cold `mabench run` pays them once
whichever path converts.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

Converter = Callable[[Path, Path], None]


def timed(convert: Converter, source: Path, scratch: Path) -> tuple[float, Path]:
    destination = Path(tempfile.mkdtemp(dir=scratch))
    start = time.perf_counter()
    convert(source, destination)
    return time.perf_counter() - start, destination


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    from importlib.metadata import version

    import gguf  # noqa: F401
    import torch
    import transformers  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401

    from mabench.backends import default_model
    from mabench.backends.filehash import folder_files, folder_hash
    from mabench.backends.gguf_convert import convert_gguf, convert_gguf_with_transformers

    imports = time.perf_counter() - start
    source = default_model.gguf_path()
    source.read_bytes()  # into the page cache, for both paths alike
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads "
          f"{torch.get_num_threads()}, load average {os.getloadavg()}")
    print(f"versions: torch {torch.__version__}, transformers {transformers.__version__}, gguf "
          f"{version('gguf')}; source {source.name} ({source.stat().st_size / 1e6:.1f} MB)")
    print(f"imports (paid once by either path): {imports:.2f} s")

    peer: list[float] = []
    ours: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.repeat):
            seconds, reference = timed(convert_gguf_with_transformers, source, Path(scratch))
            peer.append(seconds)
            print(f"  transformers from_pretrained(gguf_file=): {seconds:.2f} s")
            seconds, converted = timed(convert_gguf, source, Path(scratch))
            ours.append(seconds)
            print(f"  mabench convert_gguf:                     {seconds:.2f} s")
        names = [f.name for f in folder_files(reference)]
        identical = names == [f.name for f in folder_files(converted)] and all(
            (reference / name).read_bytes() == (converted / name).read_bytes() for name in names)
        hashes = folder_hash(reference), folder_hash(converted)
        cached = default_model.converted_path(source)
        cached_hash = folder_hash(cached) if (cached / "config.json").is_file() else None
    print(f"transformers (3 parses): {min(peer):.2f} s   mabench (1 parse): {min(ours):.2f} s   "
          f"ratio {min(peer) / min(ours):.2f}x   (best of {args.repeat})")
    print(f"files byte-identical: {identical} ({', '.join(names)})")
    print(f"folder_hash equal: {hashes[0] == hashes[1]} ({hashes[1]})")
    if cached_hash is not None:
        print(f"user cache {cached.name}: folder_hash equal: {cached_hash == hashes[1]}")
    print(f"load average after: {os.getloadavg()}")
    if not identical or hashes[0] != hashes[1]:
        raise SystemExit("the two conversions differ")


if __name__ == "__main__":
    main()
