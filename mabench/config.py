"""The resolved run configuration: what the command line asks for. The run id hashes it together with the
model's and the data's identity (`mabench.identity`), so the same command resumes the same run."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from .types import MODES, Mode, SamplingConfig


class RunConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = "default"
    bok_model: str | None = Field(None, description="the model that generates bok mode when it is not `model` "
                                  "(a single-answer checkpoint paired with a multi-answer one)")
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
    prompt: str | None = Field(None, description="a named prompt replacing the tasks' own messages: 'paper' or one "
                               "of the authors' prompt names (mabench.prompts)")
    eval_profile: Literal["mabench", "paper"] = Field(
        "mabench", description="'paper' adds the authors' evaluation metrics, named paper_*, to metrics.json")
    sandbox: Literal["auto", "bwrap", "unshare", "docker", "subprocess"] = Field(
        "auto", exclude=True, description="isolation for code tasks: 'auto' is bwrap, else unshare, else an error; "
        "docker and the unisolated subprocess only when named. Not part of the run identity: it never changes a "
        "verdict, and the manifest records the isolation used")
    sandbox_executor: Literal["local", "ray"] = Field(
        "local", exclude=True, description="where code tasks run programs: this machine's sandbox pool, or Ray actors "
        "running that same sandbox on each node of a cluster. Not part of the run identity: it only moves the same "
        "sandbox elsewhere (same isolation, limits and verdict rules), so it never changes a result, and a run "
        "started on one machine may be resumed on a cluster; the manifest records where programs ran")
    exclude_train_overlap: bool = Field(False, description="drop the questions a mode's checkpoint was trained on "
                                        "(its mabench_train.json) before the run")

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

    @model_validator(mode="after")
    def _prompt_fits_every_task_and_mode(self) -> RunConfig:
        if self.prompt is not None:
            from .prompts import resolve_for_mode

            for task in self.tasks:
                for mode in self.modes:
                    resolve_for_mode(self.prompt, task, mode)  # a PromptError (ValueError) names the problem
        return self

    @model_validator(mode="before")
    @classmethod
    def _one_model_is_no_pair(cls, data: Any) -> Any:
        """`--bok-model` equal to `--model` is the unpaired run, with its run id."""
        if isinstance(data, dict) and data.get("bok_model") is not None \
                and data.get("bok_model") == data.get("model", "default"):
            data = {**data, "bok_model": None}
        return data

    @model_validator(mode="after")
    def _bok_model_needs_bok(self) -> RunConfig:
        if self.bok_model is not None and "bok" not in self.modes:
            raise ValueError(f"bok_model {self.bok_model!r} generates bok mode, but the modes are {self.modes}; "
                             "add bok to the modes or drop the bok model")
        return self

    @model_serializer(mode="wrap")
    def _new_fields_only_when_set(self, handler: Any) -> dict[str, Any]:
        """Leaves out `bok_model` and `exclude_train_overlap` at their defaults, so that a run without them keeps
        the run id and config hash it had before they existed."""
        data = handler(self)
        for name, default in _OPTIONAL_FIELDS.items():
            if data.get(name, default) == default:
                data.pop(name, None)
        return data

    def model_for(self, mode: str) -> str:
        """The model that generates `mode`: `bok_model` for bok when paired, else `model`."""
        return self.bok_model if mode == "bok" and self.bok_model is not None else self.model

    @property
    def models(self) -> list[str]:
        """The distinct models of the run, in the order of its modes (each loaded once, one after the other)."""
        return list(dict.fromkeys(self.model_for(mode) for mode in self.modes))

    @property
    def sampling(self) -> SamplingConfig:
        return SamplingConfig(temperature=self.temperature, top_p=self.top_p, max_new_tokens=self.max_new_tokens)


_OPTIONAL_FIELDS: dict[str, Any] = {"bok_model": None, "exclude_train_overlap": False}
