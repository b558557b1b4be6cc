"""Converting a llama-family GGUF file into a plain Hugging Face folder, reading the file's metadata once.

`AutoModelForCausalLM.from_pretrained(..., gguf_file=)` followed by `AutoTokenizer.from_pretrained(..., gguf_file=)`
builds transformers' legacy `gguf.GGUFReader` three times (config, weights, the tokenizer's config), and each
construction walks the 49k-entry vocabulary into numpy views: about 3.5 s apiece on the 2-core development machine.
Mapping GGUF tensor names onto the model also rebuilds gguf-py's name table once per sub-module (397 times, ~6 s).
Here the same transformers building blocks run once each:

- `load_gguf_checkpoint(return_tensors=False)`: the one `GGUFReader`, giving the config dict exactly as
  `AutoConfig.from_pretrained(gguf_file=)` receives it;
- transformers' own lightweight header reader (`GgufHeader`, `load_gguf_state_dict`) for the tensor table and the
  raw blocks, de-quantised by the same `gguf.dequantize` and re-ordered by the same `TENSOR_PROCESSORS` entry (the
  Llama q/k permutation) as the legacy loader, so every value is bit-identical;
- `get_gguf_hf_weights_map` once, on the model's flat parameter list instead of on every sub-module;
- `TokenizersBackend.from_pretrained(gguf_file=)`, which reads the vocabulary with the fast reader and converts it
  with transformers' GGUF tokenizer converter, without the config parse `AutoTokenizer` adds.

The folder written is byte-identical to what the three-parse path writes (tests/backends/test_gguf_convert.py),
so the folder's content hash, part of every run's identity, does not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any


class _FlatNames:
    """Stands in for the model in `get_gguf_hf_weights_map`: its parameter names, and no sub-modules to recurse into.

    The recursion only adds names the top level did not map; `convert_gguf` checks that every parameter got a tensor.
    """

    def __init__(self, names: list[str]) -> None:
        self._names = names

    def state_dict(self) -> dict[str, None]:
        return dict.fromkeys(self._names)

    def named_children(self) -> Iterator[tuple[str, Any]]:
        return iter(())


def convert_gguf(source: Path, destination: Path) -> None:
    """Write `source` (a GGUF file) to `destination` as config.json, generation_config.json, float32
    model.safetensors and the tokenizer files."""
    import numpy as np
    import torch
    from gguf import dequantize
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.integrations.gguf.reader import GgufHeader, load_gguf_state_dict
    from transformers.modeling_gguf_pytorch_utils import (
        TENSOR_PROCESSORS,
        TensorProcessor,
        get_gguf_hf_weights_map,
        load_gguf_checkpoint,
    )
    from transformers.tokenization_utils_tokenizers import TokenizersBackend

    parsed = load_gguf_checkpoint(str(source), return_tensors=False)  # the one GGUFReader
    config = AutoConfig.for_model(**parsed["config"])
    with torch.device("meta"):  # shapes and names only; every parameter is assigned below
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)

    header = GgufHeader.from_file(str(source))
    processor = TENSOR_PROCESSORS.get(header.architecture, TensorProcessor)(config=parsed["config"])
    names = _FlatNames(list(model.state_dict()))
    name_map = get_gguf_hf_weights_map(names, processor, config.model_type, config.num_hidden_layers)
    tensors: dict[str, torch.Tensor] = {}
    for gguf_name, lazy in load_gguf_state_dict(header).items():
        raw = lazy[...].numpy()  # blocks as uint8 rows, or plain floats, shaped as GGUFReader shapes them
        result = processor.process(weights=dequantize(raw, lazy.ggml_type), name=gguf_name,
                                   tensor_key_mapping=name_map, parsed_parameters=parsed)
        if result.name in name_map:
            tensors[name_map[result.name]] = torch.from_numpy(np.copy(result.weights))

    missing, unexpected = model.load_state_dict(tensors, strict=False, assign=True)
    model.tie_weights()
    still_meta = [name for name, param in model.named_parameters() if param.is_meta]
    if still_meta or unexpected:
        raise ValueError(f"{source.name}: no tensor for {still_meta[:3]}, no parameter for {unexpected[:3]} "
                         f"(of {len(missing)} missing, {len(unexpected)} unexpected)")
    model.save_pretrained(destination)
    tokenizer = TokenizersBackend.from_pretrained(source.parent, gguf_file=source.name)
    tokenizer.save_pretrained(destination)


def convert_gguf_with_transformers(source: Path, destination: Path) -> None:
    """The same conversion through transformers' `from_pretrained(gguf_file=)` entry points, which parse the file
    three times: the reference `convert_gguf` must match byte for byte (its test, and
    benchmarks/default_model_conversion.py)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    # The weights are already de-quantised to float32; drop the GGUF marker so the model can be saved.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(destination)
    tokenizer.save_pretrained(destination)
