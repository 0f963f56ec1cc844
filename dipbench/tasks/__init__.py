"""Restoration tasks: one module per task, each holding all of that task's knowledge.

A task (:class:`~dipbench.tasks.base.Task`) owns its parameters and their validation, its degradation
(ground truth -> :class:`~dipbench.tasks.base.Observation`), its differentiable forward operator (with
input padding), the DIP authors' published inputs it can use, its display title, the parameters that
identify a reported number and its command-line options; nothing of any method (DIP's per-experiment
settings are :mod:`dipbench.methods.dip.settings`). The registry
(:mod:`.registry`) is the only list of tasks: the config schema's enum, the CLI's choices and the tests'
task table are derived from it. Built-in tasks: :mod:`.denoise`, :mod:`.sr`, :mod:`.inpaint`.

Adding a task = one module with a :class:`Task` subclass decorated with :func:`register_task` (and listed
in ``BUILTIN_MODULES`` of :mod:`.registry`, or imported as a plugin); README "Adding a task".
"""

from .base import Observation, Task, array_to_tensor
from .registry import (
    available_tasks,
    get_task_class,
    make_task,
    register_task,
    task_names,
    task_of,
    task_title,
)

__all__ = ["Observation", "Task", "array_to_tensor", "available_tasks", "get_task_class", "make_task",
           "register_task", "task_names", "task_of", "task_title"]
