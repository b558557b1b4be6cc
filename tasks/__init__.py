"""Task plugins. Each task is a class with a `TaskSpec`, registered under the `mabench.tasks` entry points."""

from .registry import (
    DataFormatError,
    Task,
    TaskSpec,
    UnknownTaskError,
    available_tasks,
    load_task,
    synthetic_tasks,
    task,
)

__all__ = ["DataFormatError", "Task", "TaskSpec", "UnknownTaskError", "available_tasks", "load_task",
           "synthetic_tasks", "task"]
