"""The DIP authors' environment: what their code did beyond the settings it states (docs/protocol.md
section 10), as DIP parameters that resolve from ``environment``.

Each switch's ``"auto"`` takes its value from DIP's ``environment`` parameter:

| switch | ``current`` (default) | ``authors`` | source |
| --- | --- | --- | --- |
| ``tf32`` | "auto": PyTorch's default (cuDNN TF32 on) | false: true fp32 | their GPUs predate TF32 |
| ``bn_init`` | "default": weights 1 | "uniform": U(0, 1) | PyTorch <= 1.1 (their code pins 0.4) |
| ``align_corners`` | false | true | PyTorch < 0.4 bilinear upsampling |
| ``backtrack`` | "off" | "notebook" for the tasks whose notebook has it | denoising.ipynb, restoration.ipynb |
| ``steps`` | "paper": the paper's text | "notebook": denoising 3000 | denoising.ipynb |
| ``final_input`` | the task's (Table 1 inpainting: clean z) | Table 1 inpainting: perturbed | restoration.ipynb |
| ``conv_backend`` | "auto": NNPACK's Winograd on AVX2 CPUs in fp32 (:mod:`.nnpack`) | "torch": PyTorch's own | their code calls ``nn.Conv2d`` |

``steps`` also takes "paper" or "notebook" by name (or a number) whatever the environment.
"""

from __future__ import annotations

from typing import Any

ENVIRONMENTS = ("current", "authors")
STEP_CHOICES = ("paper", "notebook")
BACKTRACK_MODES = ("off", "notebook")

#: Where the authors' notebooks differ from the paper's text, by task (values the "notebook" choice and
#: the authors' environment take): denoising.ipynb runs 3000 steps (the paper's text: 1800) and backtracks
#: (also for the JPEG figure); restoration.ipynb (Table 1 inpainting, the 2%-pixel figure) backtracks every
#: 50 steps and returns net(last perturbed z) (``net_input`` is a global there).
NOTEBOOKS: dict[str, dict[str, Any]] = {
    "denoise": {"steps": 3000, "backtrack": "notebook"},
    "jpeg": {"backtrack": "notebook"},
    "inpaint": {"backtrack": "notebook", "final_input": "perturbed"},
    "sparse": {"backtrack": "notebook"},
}

#: The switches' values in each environment where no task's notebook says otherwise.
_BASE = {
    "current": {"tf32": "auto", "bn_init": "default", "align_corners": False, "backtrack": "off",
                "conv_backend": "auto"},
    "authors": {"tf32": False, "bn_init": "uniform", "align_corners": True, "backtrack": "off",
                "conv_backend": "torch"},
}

SWITCHES = tuple(_BASE["current"])


def environment_values(environment: str, task: str) -> dict[str, Any]:
    """The switches' values (``SWITCHES``, plus ``final_input`` where a notebook differs) of an
    environment for a task."""
    values = dict(_BASE[environment])
    if environment == "authors":
        values.update({k: v for k, v in NOTEBOOKS.get(task, {}).items() if k != "steps"})
    return values


def resolve_steps(steps: Any, environment: str, task: str, paper_steps: Any) -> Any:
    """``steps`` as a number: "paper" = the paper's text, "notebook" = the authors' notebook (the paper's
    where the notebook agrees), "auto" = "paper", or "notebook" in the authors' environment."""
    if steps == "auto":
        steps = "notebook" if environment == "authors" else "paper"
    if steps == "notebook":
        return NOTEBOOKS.get(task, {}).get("steps", paper_steps)
    if steps == "paper":
        return paper_steps
    return steps


def resolve(params: dict[str, Any], task: str, paper: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the switches' and ``steps``' "auto" / named values resolved for ``task``
    (``paper``: the task's paper settings, whose ``final_input`` the current environment keeps)."""
    environment = params.get("environment", "current")
    values = environment_values(environment, task)
    out = dict(params)
    for key, value in values.items():
        if out.get(key) == "auto":
            out[key] = value
    if "steps" in out:
        out["steps"] = resolve_steps(out["steps"], environment, task, paper.get("steps", "auto"))
    return out
