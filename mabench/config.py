"""The resolved run configuration. Its hash is the run id, so the same command resumes the same run."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .backends.base import SamplingConfig
from .types import MODES, Mode


class RunConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = "default"
    tasks: list[str] = Field(default_factory=lambda: ["ambigqa"], min_length=1)
    modes: list[Mode] = Field(default_factory=lambda: list(MODES), min_length=1)
    k: int = Field(3, ge=1, le=32, description="candidates per multi generation, and samples per bok question")
    limit: int | None = Field(None, ge=1)
    shuffle: bool = False  # shuffle questions with `seed` before applying `limit`
    data_path: dict[str, str] = Field(default_factory=dict, description="task name -> local data file")
    seed: int = 0
    temperature: float = Field(0.7, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(256, ge=1)
    batch_size: int = Field(8, ge=1, description="questions per backend call; part of the seed stream")

    @field_validator("tasks", "modes")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"must not repeat entries, got {value}")
        return value

    @model_validator(mode="after")
    def _data_paths_name_tasks(self) -> RunConfig:
        unknown = sorted(set(self.data_path) - set(self.tasks))
        if unknown:
            raise ValueError(f"data_path names tasks not being run: {unknown}; tasks: {self.tasks}")
        return self

    @property
    def sampling(self) -> SamplingConfig:
        return SamplingConfig(temperature=self.temperature, top_p=self.top_p, max_new_tokens=self.max_new_tokens)

    def run_id(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    def run_dir(self, out: Path) -> Path:
        return Path(out) / self.run_id()
