"""The ``dipbench`` command line.

User commands: ``restore`` (one picture), ``score`` (PSNR/SSIM of two images), ``methods`` (the registry),
``datasets`` (list / fetch / verify). ``job ...`` are the steps the Snakemake rules call. Any
:class:`~dipbench.errors.DipbenchError` is printed as one line, never as a traceback (exit status 2 for a
usage or configuration mistake, 1 for a failure; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import ConfigError, DipbenchError, ImageError


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _key_values(pairs: list[str]) -> dict[str, Any]:
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--param expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        params[key] = _parse_value(value)
    return params


# --------------------------------------------------------------------------------------------- restore
def build_observation(args: argparse.Namespace):
    """The observation for ``dipbench restore``: a real degraded input, or one simulated from a clean image.

    The task's parameters come from the ``--<parameter>`` options its class offers (``Task.cli_options``),
    its extra inputs (e.g. ``--mask``) from ``Task.extra_inputs``."""
    from .imaging.io import read_image
    from .seeding import content_id, derive_seed
    from .tasks import get_task_class

    cls = get_task_class(args.task)
    _refuse_other_tasks_options(args, cls)
    given = {name: getattr(args, name) for name in cls.cli_options if getattr(args, name, None) is not None}
    task = cls(**cls.cli_params(given))
    read = {}
    image = read_image(args.input, "any", info=read)
    if read["exif_orientation"] != 1:
        print(f"dipbench: note: {args.input} has EXIF orientation {read['exif_orientation']}: restored upright, "
              "as a photo viewer shows it", file=sys.stderr)
    args.input_id = content_id(args.input)
    gt = read_image(args.gt, "to_rgb" if image.shape[2] == 3 else "to_gray") if args.gt else None
    # extra images (a mask: non-zero = known; a flash photo) in the input's channels
    mode = "to_rgb" if image.shape[2] == 3 else "to_gray"
    inputs = {name: read_image(getattr(args, name), mode) for name in cls.extra_inputs if getattr(args, name, None)}
    if args.simulate:
        clean = task.prepare_gt(image)
        rng = np.random.default_rng(derive_seed("cli-observation", args.input_id, task.slug, args.seed))
        obs = task.degrade(clean, rng, **inputs)
        if gt is None:
            gt = obs.gt
    else:
        obs = task.observe(image, **inputs)
    if gt is not None and gt.shape[:2] != (obs.target.height, obs.target.width):
        raise ImageError(f"ground truth {args.gt} is {gt.shape[1]}x{gt.shape[0]} px, the restored image will be "
                         f"{obs.target.width}x{obs.target.height} px")
    obs.gt = gt
    obs.image = Path(args.input).stem
    return obs


def _refuse_other_tasks_options(args: argparse.Namespace, cls) -> None:
    """Refuse a task option or input file given on the command line that the chosen task does not take
    (``--scale`` on denoising would otherwise be silently ignored)."""
    from .tasks import available_tasks

    own = {*cls.cli_options, *cls.extra_inputs}
    others = {name for task in available_tasks().values() for name in (*task.cli_options, *task.extra_inputs)}
    given = sorted(name for name in others - own if getattr(args, name, None) is not None)
    if given:
        takes = ", ".join(f"--{name}" for name in sorted(own)) or "no task options"
        raise ConfigError(f"--{given[0]} is not an option of task {cls.name!r} (it takes {takes})")


def cmd_restore(args: argparse.Namespace) -> int:
    from .imaging.io import write_image
    from .methods import RunContext, get_method
    from .methods.contract import run_method
    from .metrics import score
    from .seeding import derive_seed
    from .threads import set_threads

    out = Path(args.output)
    curve_csv, curve_png = out.with_suffix(".curve.csv"), out.with_suffix(".curve.png")
    inputs = [args.input, args.gt, *(getattr(args, name, None) for name in _extra_input_names())]
    for path in (out, curve_csv, curve_png, curve_png.with_suffix(".pdf")):
        _check_output(path, [p for p in inputs if p])
    _refuse_existing_sidecars(out, overwrite=args.overwrite)
    threads = _restore_threads(args.threads)
    obs = build_observation(args)
    params = _key_values(args.param)
    if args.steps is not None:
        params["steps"] = args.steps
    method = get_method(args.method)(obs.task, **params)
    set_threads(threads)  # again: the method's module may have imported torch
    seed = derive_seed("cli-run", args.method, args.input_id, args.seed)
    context = RunContext(seed=seed, device=args.device, progress=not args.quiet, threads=threads)
    result = run_method(method, obs, [context])[0]  # the output contract: dipbench.methods.contract
    write_image(out, result.image)
    print(f"wrote {out}")
    if result.curve is not None:
        from .atomic import atomic_open
        from .report.curve_figures import learning_curves

        with atomic_open(curve_csv, "w") as handle:
            result.curve.to_csv(handle, index=False)
        learning_curves({obs.image: result.curve}, curve_png, title=f"{args.method} on {obs.image} ({obs.task})")
        print(f"wrote {curve_csv} and {curve_png}")
    if result.info.get("diverged"):
        print(f"dipbench: warning: {result.info['divergence']}", file=sys.stderr)
    if obs.gt is not None:
        metrics = score(obs.gt, result.image, obs.task, args.protocol, scale=obs.task_params.get("scale"),
                        target=obs.target, mask=obs.mask)
        print(f"{scores_text(metrics)}  (protocol {args.protocol})")
    return 0


def _restore_threads(given: int | None) -> int:
    """``--threads``, or the workflow's rule (:func:`dipbench.threads.default_threads`); applied at once,
    with a one-line warning when it exceeds the free cores."""
    from .threads import default_threads, oversubscription, set_threads

    threads = default_threads() if given is None else given
    set_threads(threads)
    warning = oversubscription(threads) if given is not None else None
    if warning:
        print(f"dipbench: warning: {warning}", file=sys.stderr)
    return threads


def _extra_input_names() -> list[str]:
    from .tasks import available_tasks

    return sorted({name for cls in available_tasks().values() for name in cls.extra_inputs})


def _refuse_existing_sidecars(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, to replace a file the user did not name: ``OUT.curve.csv``, ``.png`` and
    ``.pdf`` are written beside ``OUT`` only where they are new, or with ``--overwrite``."""
    if overwrite:
        return
    existing = [path for path in (out.with_suffix(".curve.csv"), out.with_suffix(".curve.png"),
                                  out.with_suffix(".curve.pdf")) if os.path.lexists(path)]
    if existing:
        raise ConfigError(f"{existing[0]} exists: restore writes its learning curve beside {out.name} and would replace "
                          "it; choose another -o, move the file, or pass --overwrite")


def _check_output(path: Path, inputs: list[str]) -> None:
    """Refuse, before any work, an output that cannot be written or that would overwrite an input."""
    from .imaging.io import output_format

    if path.suffix.lower() not in (".csv", ".pdf"):
        output_format(path)
    target = Path(os.path.realpath(path))  # realpath, not resolve: a symbolic-link loop is refused when read
    for given in inputs:
        if Path(os.path.realpath(given)) == target:
            raise ConfigError(f"output {path} is also an input ({given}); choose another output file")
    parent = target.parent
    if not parent.is_dir():
        raise ConfigError(f"cannot write {path}: folder {parent} does not exist")
    if target.is_dir():
        raise ConfigError(f"cannot write {path}: it is a folder")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ConfigError(f"cannot write {path}: permission denied")


# ----------------------------------------------------------------------------------------------- score
def cmd_score(args: argparse.Namespace) -> int:
    from .imaging.io import read_image
    from .metrics import score
    from .tasks.inpaint import binary_mask

    _check_score_scale(args.task, args.scale)
    pred = read_image(args.pred, "any")
    gt = read_image(args.gt, "any")
    mask = binary_mask(read_image(args.mask, "any"), gt.shape[:2]) if args.mask else None
    result = score(gt, pred, args.task, args.protocol, scale=args.scale, convert_channels=args.convert, mask=mask)
    print(f"{scores_text(result, extra_decimals=2)}  (protocol {args.protocol}, task {args.task})")
    return 0


def scores_text(result: dict[str, Any], extra_decimals: int = 0) -> str:
    """"PSNR 31.20 dB  SSIM 0.9012  PSNR (missing) 25.01 dB": every registered metric in ``result``, each
    with its decimals (plus ``extra_decimals``) and unit."""
    from .metrics import metrics

    parts = []
    for metric in metrics():
        if metric.name in result:
            facts = metric.facts
            value = f"{float(result[metric.name]):.{facts.decimals + (extra_decimals if facts.unit else 0)}f}"
            parts.append(f"{facts.label} {value}" + (f" {facts.unit}" if facts.unit else ""))
    return "  ".join(parts)


def _check_score_scale(task: str, scale: int | None) -> None:
    """``score --scale``: required (an integer >= 2) for an upscaling task, refused for any other."""
    from .tasks import get_task_class

    if not get_task_class(task).upscales:
        if scale is not None:
            raise ConfigError(f"--scale applies to upscaling tasks only, not to {task!r}")
    elif scale is None:
        raise ConfigError(f"score --task {task} needs --scale, the upscaling factor (an integer >= 2)")
    elif scale < 2:
        raise ConfigError(f"--scale must be an integer >= 2, got {scale}")


def cmd_methods(args: argparse.Namespace) -> int:
    import shutil

    from .methods_table import method_rows
    from .plaintext import text_table

    rows = method_rows(plugins=bool(args.plugin or args.plugins_before_command))
    name_width = max(len(row[0]) for row in rows)
    width = shutil.get_terminal_size((120, 24)).columns  # the description takes what the terminal has left
    print(text_table(("method", "version", "tasks", "description"), rows,
                     (None, None, 30, max(30, width - name_width - 7 - 30 - 6))))
    return 0


# ------------------------------------------------------------------------------------------------ jobs
def cmd_job_prepare(args: argparse.Namespace) -> int:
    from .pipeline.jobs import prepare
    from .pipeline.plan import ObservationSpec

    spec = ObservationSpec(**json.loads(args.spec))
    prepare(spec, args.dataset, args.image, args.seed, args.out, mirror=args.mirror)
    return 0


def cmd_job_restore(args: argparse.Namespace) -> int:
    from .pipeline.jobs import restore_seeds

    if len(args.seed) != len(args.out_dir):
        raise ConfigError(f"job restore: {len(args.seed)} seed(s) but {len(args.out_dir)} --out-dir folder(s)")
    from .pipeline.eta import config_hash

    identity = json.loads(args.identity)
    records = restore_seeds(args.obs, args.method, json.loads(args.params), args.seed, args.out_dir,
                            device=args.device, threads=args.threads, progress=not args.quiet,
                            identity=identity, config_hash=config_hash(args.results, identity.get("experiment")))
    for record in records:
        print(f"{record['method']} on {record['dataset']}/{record['image']} seed {record['seed']}: "
              f"{record['runtime_s']:.1f} s" + (f" (one of {len(records)} fused runs)" if len(records) > 1 else ""))
    if args.results:
        from .pipeline.eta import estimate

        line = estimate(args.results)
        if line:
            print(line)
    return 0


def cmd_job_ensemble(args: argparse.Namespace) -> int:
    from .pipeline.jobs import ensemble

    record = ensemble(args.images, args.records, args.out_dir, identity=json.loads(args.identity))
    print(f"{record['label']}: mean of {len(args.images)} runs on {record['dataset']}/{record['image']}")
    return 0


def cmd_job_evaluate(args: argparse.Namespace) -> int:
    from .pipeline.jobs import evaluate

    if len(args.protocol) != len(args.out):
        raise ConfigError("job evaluate: give one --out per --protocol")
    for protocol, out in zip(args.protocol, args.out):
        record = evaluate(args.obs, args.restored, args.record, protocol, out)
        score = f"{scores_text(record)} ({protocol})" if record["reference"] else "no ground truth, not scored"
        print(f"{record.get('label', record['method'])} {record['dataset']}/{record['image']}: {score}")
    return 0


def cmd_job_report(args: argparse.Namespace) -> int:
    from .report.build import build_from_settings

    paths = [line for line in Path(args.metrics_list).read_text().splitlines() if line.strip()]
    line = build_from_settings(Path(args.results), paths, json.loads(args.settings), workers=args.workers)
    if line:
        print(line)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``dipbench report RESULTS``: rebuild the tables and figures from the results folder alone (the plan
    the workflow wrote there when it started, and the records that exist)."""
    from .report.build import build_from_settings
    from .threads import free_cores

    results = Path(args.results)
    manifest_path = results / "logs" / "plan.json"
    try:
        report = json.loads(manifest_path.read_text(encoding="utf-8"))["report"]
        settings, planned = report["settings"], report["metrics"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{results} has no workflow plan with report settings ({manifest_path}): run the "
                          "workflow on it first (snakemake --configfile ...)") from None
    found = [str(results / path) for path in planned if (results / path).is_file()]
    if not found:
        raise ConfigError(f"{results}: none of the {len(planned)} records the plan names exists yet")
    line = build_from_settings(results, found, settings, workers=args.workers or free_cores())
    print(f"rebuilt the tables and figures of {results} from {len(found)} of {len(planned)} planned records"
          + (f" ({len(planned) - len(found)} not made yet)" if len(found) < len(planned) else ""))
    if line:
        print(line)
    return 0


def cmd_job_report_pages(args: argparse.Namespace) -> int:
    from .report.pages import write_pages

    pages = write_pages(args.results, args.out)
    print(f"wrote {len(pages)} report pages into {args.out}")
    if args.overview:
        from .report.overview import write_overview

        print(f"wrote the report's overview {write_overview(args.results, args.overview)}")
    return 0


# ---------------------------------------------------------------------------------------------- parser
def _device_name(text: str) -> str:
    from .methods.device import check_device_name

    try:
        return check_device_name(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _add_task_options(parser: argparse.ArgumentParser) -> None:
    """``--<parameter>`` for every registered task's CLI parameters (typed by the task's default value; a
    default of None reads the text as YAML: ``--quality 10`` is 10, ``--weights a.pth`` a string) and
    ``--<name> FILE`` for its extra input images; each help names the tasks that use it."""
    from .tasks import available_tasks

    options: dict[str, tuple[type, str, list[str]]] = {}
    inputs: dict[str, list[str]] = {}
    for name, cls in available_tasks().items():
        for param, help_text in cls.cli_options.items():
            kind = type(cls.defaults[param])
            kind = float if kind is float else yaml.safe_load if kind is type(None) else kind
            options.setdefault(param, (kind, help_text, []))[2].append(name)
        for extra in cls.extra_inputs:
            inputs.setdefault(extra, []).append(name)
    for param, (kind, help_text, tasks) in options.items():
        parser.add_argument(f"--{param}", type=kind, help=f"{help_text} ({', '.join(tasks)}; default: the task's)")
    for extra, tasks in inputs.items():
        note = ", non-zero = known pixel" if extra == "mask" else ""
        parser.add_argument(f"--{extra}", metavar="FILE", help=f"{extra} image{note} ({', '.join(tasks)}; default: none)")


def _plugin_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--plugin", action="append", default=[], metavar="FILE",
                        help="a .py file or module that registers methods or tasks (repeatable; also $DIPBENCH_PLUGINS; "
                             "default: none)")
    return parent


def _plugins_in(argv: list[str]) -> list[str]:
    """The ``--plugin`` values of ``argv``, read before the parser is built (its choices include the
    plugins' tasks)."""
    found = []
    for i, arg in enumerate(argv):
        if arg == "--plugin" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--plugin="):
            found.append(arg.split("=", 1)[1])
    return found


def build_parser() -> argparse.ArgumentParser:
    from .metrics import protocol_names
    from .plaintext import plain
    from .tasks import task_names

    plugin = _plugin_parent()

    parser = argparse.ArgumentParser(prog="dipbench", description=plain(__doc__.splitlines()[0]))
    parser.add_argument("--debug", action="store_true", help="show a traceback instead of a one-line error")
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE", dest="plugins_before_command",
                        help="a .py file or module that registers methods or tasks (repeatable; also after the command)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("restore", help="restore one image with one method", parents=[plugin])
    p.add_argument("input", help="the degraded image (noisy / low-resolution / with holes), or a clean one with --simulate")
    p.add_argument("--task", required=True, choices=task_names(), metavar="TASK",
                   help=f"the restoration task: {', '.join(task_names())} (required)")
    p.add_argument("--method", default="dip",
                   help="a registered method ('dipbench methods' lists them and their tasks; default: dip)")
    _add_task_options(p)
    p.add_argument("--simulate", action="store_true",
                   help="INPUT is clean: simulate the degradation (noise, LR by Lanczos, random mask) and score "
                        "against it (default: off, INPUT is the degraded image)")
    p.add_argument("--steps", type=int, help="optimisation steps of an iterative method (DIP and its family; "
                                             "TV for sr and inpainting; default: the method's, the paper's for DIP)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="any method parameter, the value read as JSON (repeatable; default: the method's)")
    p.add_argument("--gt", metavar="FILE", help="ground truth, to print PSNR/SSIM (default: none)")
    p.add_argument("--protocol", default="dip_paper", choices=protocol_names(), metavar="PROTOCOL",
                   help=f"how PSNR/SSIM are computed: {', '.join(protocol_names())} (default: dip_paper)")
    p.add_argument("--device", default="auto", type=_device_name,
                   help="auto, cpu, mps, cuda or cuda:N (default: auto, a GPU where there is one)")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="CPU threads (default: the workflow's rule, one thread per job unless cores are idle: "
                        "the cores minus the 1-minute load average, so all of them on an idle machine and 1 "
                        "on a busy one; more threads than free cores prints a warning)")
    p.add_argument("--seed", type=_nonnegative_int, default=0,
                   help="seed of the run, mixed with the image's content: a whole number >= 0 (default: 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (default: a bar, or a line per 10%% in a log)")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="output image, .png/.tif/.bmp/.ppm; OUT.curve.csv and OUT.curve.png go beside it (required)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing OUT.curve.csv / .curve.png / .curve.pdf beside the output (default: refuse "
                        "to run if one exists; OUT itself, the file you name, is always replaced)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("score", help="every registered metric (PSNR, SSIM, ...) of a restored image against its "
                                     "ground truth", parents=[plugin])
    p.add_argument("--gt", required=True)
    p.add_argument("--pred", required=True)
    p.add_argument("--protocol", default="dip_paper", choices=protocol_names())
    p.add_argument("--task", required=True, choices=task_names())
    p.add_argument("--scale", type=int, help="upscaling factor, an integer >= 2: required for an upscaling task "
                                            "(sr), refused for the others (default: none)")
    p.add_argument("--convert", action="store_true",
                   help="score a gray image against an RGB one by replicating the gray channel (refused otherwise)")
    p.add_argument("--mask", metavar="FILE", help="the input's mask (non-zero = known pixel), for the metrics of "
                                                  "the missing pixels (default: none)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("methods", help="list the registered methods", parents=[plugin])
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("report", parents=[plugin],
                       help="rebuild a results folder's tables and figures from the folder alone (the plan the "
                            "workflow wrote there and the records that exist), e.g. after updating dipbench")
    p.add_argument("results", help="the results folder of a workflow run (its logs/plan.json names the rest)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="processes that draw the figures (default: the free cores)")
    p.set_defaults(func=cmd_report)

    from .datasets.cli import add_parser as add_datasets_parser

    add_datasets_parser(sub)

    job = sub.add_parser("job", help="workflow steps (called by the Snakemake rules)")
    jobs = job.add_subparsers(dest="job", required=True)
    p = jobs.add_parser("prepare", parents=[plugin])
    p.add_argument("--spec", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mirror")
    p.set_defaults(func=cmd_job_prepare)
    p = jobs.add_parser("restore", parents=[plugin])
    p.add_argument("--obs", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--params", default="{}")
    p.add_argument("--seed", type=int, nargs="+", required=True, help="one seed, or several for one fused job")
    p.add_argument("--identity", default="{}")
    p.add_argument("--device", default="auto", type=_device_name, help="auto, cpu, mps, cuda or cuda:N")
    p.add_argument("--threads", type=int)
    p.add_argument("--out-dir", nargs="+", required=True, help="one output folder per seed")
    p.add_argument("--results", help="the workflow's results folder: print the progress estimate after the run")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_job_restore)
    p = jobs.add_parser("ensemble", parents=[plugin])
    p.add_argument("--images", nargs="+", required=True)
    p.add_argument("--records", nargs="+", required=True)
    p.add_argument("--identity", default="{}")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_job_ensemble)
    p = jobs.add_parser("evaluate", parents=[plugin])
    p.add_argument("--obs", required=True)
    p.add_argument("--restored", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--protocol", nargs="+", required=True)
    p.add_argument("--out", nargs="+", required=True, help="one record per protocol, in the same order")
    p.set_defaults(func=cmd_job_evaluate)
    p = jobs.add_parser("report", parents=[plugin])
    p.add_argument("--results", required=True)
    p.add_argument("--metrics-list", required=True)
    p.add_argument("--settings", required=True, help="JSON: the plan's report settings (Plan.report_settings)")
    p.add_argument("--workers", type=_positive_int, default=1, help="processes that draw the figures")
    p.set_defaults(func=cmd_job_report)
    p = jobs.add_parser("report-pages", parents=[plugin], help="one HTML page per table and figure, for snakemake --report")
    p.add_argument("--results", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--overview", help="also write the report's first page (an HTML fragment) here")
    p.set_defaults(func=cmd_job_report_pages)
    return parser


#: Exit statuses: a usage or configuration mistake, and a failure of the work itself (an unreadable image,
#: a failed download, a diverged fit).
EXIT_USAGE, EXIT_FAILURE = 2, 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line. A :class:`~dipbench.errors.DipbenchError` prints one line and exits with
    :data:`EXIT_USAGE` (a :class:`ConfigError`) or :data:`EXIT_FAILURE`; ``--debug`` or ``DIPBENCH_DEBUG=1``
    shows the traceback instead."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or os.environ.get("DIPBENCH_DEBUG", "").strip().lower() in ("1", "true", "yes")
    try:
        from .plugins import env_plugins, load_plugins

        load_plugins(env_plugins() + _plugins_in(argv))
        args = build_parser().parse_args(argv)
        if args.command == "job":  # a workflow step: it dies with the Snakemake that started it
            from .pipeline.lifeline import watch_workflow

            watch_workflow()
        return args.func(args)
    except DipbenchError as error:
        if debug:
            raise
        print(f"dipbench: error: {error}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, ConfigError) else EXIT_FAILURE
    except KeyboardInterrupt:
        print("dipbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stdout = open(os.devnull, "w")
        return 0


if __name__ == "__main__":
    sys.exit(main())
