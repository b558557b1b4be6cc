"""Hugging Face Hub datasets as task sources, through `datasets.load_dataset`.

A Hub source is written ``hf:OWNER/NAME[:CONFIG][@SPLIT]``, e.g. ``hf:sewon/ambig_qa:light@validation``;
on the command line: ``--data-path ambigqa=hf:mehuldamani/ambigQA``. A task supplies the default config
and split of each Hub id it knows, so ``hf:google-research-datasets/mbpp`` means its test split.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .registry import DataFormatError
from .sources import load_with_datasets

HUB_PREFIX = "hf:"
_SPEC = re.compile(r"^hf:(?P<repo>[\w.-]+/[\w.-]+)(?::(?P<config>[\w.-]+))?(?:@(?P<split>[\w.\[\]:%-]+))?$")


@dataclass(frozen=True)
class HubSource:
    repo_id: str
    config: str | None = None
    split: str = "test"

    def __str__(self) -> str:
        return f"{HUB_PREFIX}{self.repo_id}" + (f":{self.config}" if self.config else "") + f"@{self.split}"


@dataclass(frozen=True)
class HubDefaults:
    """What a task assumes for a Hub id when the spec leaves config or split out."""

    config: str | None
    split: str


def is_hub_spec(source: Path | str | None) -> bool:
    return source is not None and str(source).startswith(HUB_PREFIX)


def parse_hub_spec(source: Path | str, known: Mapping[str, HubDefaults]) -> HubSource:
    """``hf:OWNER/NAME[:CONFIG][@SPLIT]`` with the task's defaults for known ids (split "test" otherwise)."""
    text = str(source)
    match = _SPEC.match(text)
    if match is None:
        raise DataFormatError(
            f"{text!r}: not a Hub source; expected hf:OWNER/NAME[:CONFIG][@SPLIT], e.g. "
            f"{HUB_PREFIX}{next(iter(known), 'owner/name')}"
        )
    repo = match["repo"]
    defaults = known.get(repo, HubDefaults(None, "test"))
    return HubSource(repo, match["config"] or defaults.config, match["split"] or defaults.split)


def load_hub_rows(source: HubSource) -> list[dict[str, Any]]:
    """All rows of one split, in the dataset's order. Errors name the source and suggest a local file."""

    def load(datasets: Any) -> Any:
        return datasets.load_dataset(source.repo_id, name=source.config, split=source.split)

    try:
        return load_with_datasets(str(source), load)
    except DataFormatError as err:
        raise DataFormatError(
            f"{err} -- check the id, config and split, or download the data and pass the local file "
            "(original format, or a .parquet export of this dataset) with --data-path"
        ) from err
