"""Batch runs: many datasets x notebooks through Papermill, each result computed once.

A run is planned and checked before anything executes: notebook parameters must be
identifiers the notebook declares, of the declared type, plain JSON scalars, and no secret;
datasets must exist. Notebooks then run through Papermill's Python API in this process, in
parallel threads, each with its own kernel (the project's `govlib` kernel) and a timeout per
cell that stops the kernel. A notebook that fails, dies or times out is recorded and the batch
goes on.

The per-dataset notebooks run first and save their records (profile, quality, retention). The
batch keeps them, and the catalog notebooks (the overview) then read them from the staging
folder (`results_dir`) instead of computing them again. Each dataset's `Verdict` is built once
from the same records (`govlib.verdicts`) for the index page, `run.json`, the exit code and the
run history. Staging, the leak scan and publication are `govlib.publish`'s.

Exit codes: 0 all passed, 1 a dataset failed in an area (quality, retention, consent or personal
data: `Verdict.failed`), 2 a usage or configuration error, 3 a notebook failed to execute, 4
outputs withheld to protect personal data.
"""

from __future__ import annotations

import functools
import hashlib
import json
import keyword
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from govlib import __version__, history, publish
from govlib import catalog as catalog_mod
from govlib import verdicts as verdicts_mod
from govlib.errors import ParameterError
from govlib.records import Record
from govlib.verdicts import Verdict

if TYPE_CHECKING:
    from govlib.privacy import LeakScanner

# Papermill and nbconvert validate notebooks with jsonschema, which imports the optional
# `rfc3987_syntax` when installed and builds a parser grammar for it: 3-6 s before the first
# notebook starts. Only the "iri" format needs it and no notebook schema uses that format;
# marking it absent (as govlib.charts does in kernels) makes jsonschema skip that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

KERNEL = "govlib"
ENGINE = "govlib"  # papermill's nbclient engine, saving only when a notebook starts and ends
DEFAULT_NOTEBOOKS = ("profile", "quality", "retention")
CATALOG_NOTEBOOKS = ("overview",)  # run once per catalog, not per dataset
RESERVED = {
    "dataset", "catalog_path", "as_of", "output_dir", "history_db", "results_dir", "run_id",
    "interactive",
}  # fmt: skip
SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|api_?key|credential|private_?key", re.I)
SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[baprs]-"
    r"|sk_live_[A-Za-z0-9]{16,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."
)
TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
}


@dataclass(frozen=True, slots=True)
class Job:
    """One notebook on one dataset (dataset None: the whole catalog)."""

    notebook: str
    dataset: str | None
    parameters: dict[str, Any]

    @property
    def label(self) -> str:
        """`dataset/notebook`, or `catalog/notebook`."""
        return f"{self.dataset or 'catalog'}/{self.notebook}"


@dataclass(frozen=True, slots=True)
class JobResult(Record):
    """How a job ended: status, a value-free reason, timing and where its report went."""

    ROWS: ClassVar[str | None] = None
    notebook: str
    dataset: str | None
    status: str  # passed, failed, timed out, died, refused
    reason: str
    seconds: float
    report: str | None = None

    @property
    def label(self) -> str:
        """`dataset/notebook`, or `catalog/notebook`."""
        return f"{self.dataset or 'catalog'}/{self.notebook}"


@dataclass(frozen=True, slots=True)
class Plan:
    """A checked batch: the jobs, and what they were checked against."""

    catalog_path: Path
    notebook_dir: Path
    out: Path
    as_of: date
    workers: int
    timeout: int
    jobs: list[Job]
    parameters: dict[str, Any]
    datasets: list[str] = field(default_factory=list)


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares (name -> papermill's description)."""
    import papermill as pm

    return dict(pm.inspect_notebook(str(path)))


def check_parameters(
    extra: dict[Any, Any], declared: dict[str, dict[str, dict[str, Any]]]
) -> list[str]:
    """Every problem with user parameters, against every notebook that will run."""
    problems = []
    known_key = os.environ.get("GOVLIB_KEY")
    for name, value in extra.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            problems.append(
                f"parameter name {name!r} is not a Python identifier (papermill would run it "
                "as code)"
            )
            continue
        if name in RESERVED:
            problems.append(f"parameter {name!r} is set by govlib run; use its own option")
            continue
        if SECRET_NAME.search(name):
            problems.append(f"parameter {name!r} looks like a secret; pass secrets through the "
                            "environment, never as parameters")  # fmt: skip
            continue
        if value is not None and not isinstance(value, str | int | float | bool):
            problems.append(
                f"parameter {name!r} must be a string, number or boolean, got "
                f"{type(value).__name__}"
            )
            continue
        if isinstance(value, str) and (
            SECRET_VALUE.search(value) or (known_key and known_key in value)
        ):
            problems.append(f"the value of parameter {name!r} looks like a secret; pass "
                            "secrets through the environment")  # fmt: skip
            continue
        takers = {nb: spec[name] for nb, spec in declared.items() if name in spec}
        if not takers:
            offered = sorted({p for spec in declared.values() for p in spec} - RESERVED)
            problems.append(
                f"unknown parameter {name!r}: no notebook in this run declares it "
                f"(they take: {', '.join(offered) or 'nothing else'})"
            )
            continue
        for nb, spec in takers.items():
            expected = spec.get("inferred_type_name") or "None"
            wanted = TYPES.get(expected.split("|")[0].strip())
            if wanted is not None and (
                (isinstance(value, bool) and wanted is not bool) or not isinstance(value, wanted)
            ):
                problems.append(
                    f"parameter {name!r} of {nb} is {expected}, got {type(value).__name__}"
                )
    return problems


def plan(
    *,
    catalog_path: str | Path,
    datasets: list[str] | None = None,
    notebooks: list[str] | None = None,
    as_of: date | None = None,
    parameters: dict[str, Any] | None = None,
    out: str | Path = "reports",
    workers: int = 2,
    timeout: int = 600,
    notebook_dir: str | Path | None = None,
) -> Plan:
    """Check everything a batch needs before it runs; raise once with every problem."""
    cat = catalog_mod.load(catalog_path)
    folder = Path(notebook_dir) if notebook_dir else cat.root / "notebooks"
    names = notebooks or [*DEFAULT_NOTEBOOKS, *CATALOG_NOTEBOOKS]
    problems = []
    if workers < 1:
        problems.append(f"--workers must be at least 1, got {workers}")
    if timeout < 1:
        problems.append(f"--timeout must be at least 1 second, got {timeout}")
    paths = {}
    for name in names:
        path = folder / f"{name}.ipynb"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or not path.is_file():
            problems.append(f"no notebook {name!r} in {folder}")
        else:
            paths[name] = path
    chosen = datasets or cat.names()
    problems += [
        f"unknown dataset {d!r}; the catalog has: {', '.join(cat.names())}"
        for d in chosen
        if d not in cat.datasets
    ]
    declared = {name: notebook_parameters(path) for name, path in paths.items()}
    extra = dict(parameters or {})
    problems += check_parameters(extra, declared)
    if problems:
        raise ParameterError("; ".join(problems))
    day = as_of or cat.as_of or date.today()
    jobs = []
    for name in names:
        base = {"catalog_path": str(cat.path.resolve()), "as_of": day.isoformat()}
        base |= {k: v for k, v in extra.items() if k in declared[name]}
        if "dataset" in declared[name]:
            jobs += [Job(name, d, base | {"dataset": d}) for d in chosen]
        else:
            jobs.append(Job(name, None, base))
    return Plan(
        catalog_path=cat.path.resolve(),
        notebook_dir=folder.resolve(),
        out=Path(out).resolve(),
        as_of=day,
        workers=workers,
        timeout=timeout,
        jobs=jobs,
        parameters=extra,
        datasets=list(chosen),
    )


# -- running ---------------------------------------------------------------------------------


def _run_job(
    job: Job, p: Plan, staging: Path, results_dir: Path | None
) -> tuple[JobResult, dict[str, Any]]:
    """Run one job into staging; its result, and the records its notebook saved (if it passed)."""
    from govlib import reports

    folder = staging / (job.dataset or "catalog")
    work = folder / f".{job.notebook}"
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    params = _job_parameters(job, p, work, results_dir)
    status, reason = _execute_notebook(p, job.notebook, folder, params)
    undrawn = reports.draw_charts(folder / f"{job.notebook}.ipynb")  # the kernel left specs
    if undrawn and status == "passed":
        status, reason = "failed", undrawn
    records: dict[str, Any] = {}
    result_file = work / "results.json"
    if status == "passed" and result_file.is_file():
        records = json.loads(result_file.read_text(encoding="utf-8"))
    shutil.rmtree(work, ignore_errors=True)
    if status != "passed" and not (folder / f"{job.notebook}.ipynb").is_file():
        reason += " before any output was written"
    seconds = round(time.perf_counter() - started, 2)
    return JobResult(job.notebook, job.dataset, status, reason, seconds), records


def _job_parameters(job: Job, p: Plan, work: Path, results_dir: Path | None) -> dict[str, Any]:
    """The job's parameters plus those govlib sets where the notebook declares them."""
    params = job.parameters | {"output_dir": str(work)}
    declared = notebook_parameters(p.notebook_dir / f"{job.notebook}.ipynb")
    if "history_db" in declared:
        params["history_db"] = str(p.out / history.DB_NAME)
    if "results_dir" in declared and results_dir is not None:
        params["results_dir"] = str(results_dir)
    if "run_id" in declared:
        params["run_id"] = publish.run_id_of(staging_of(work))
    if "interactive" in declared:
        params["interactive"] = False  # explore cells are for an analyst at a keyboard
    return params


def staging_of(work: Path) -> Path:
    """The staging folder of a job's work folder (`<staging>/<dataset>/.<notebook>`)."""
    return work.parent.parent


def _execute_notebook(
    p: Plan, notebook: str, folder: Path, params: dict[str, Any]
) -> tuple[str, str]:
    """Execute a notebook into `folder`: its status and a value-free reason."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    try:
        pm.execute_notebook(
            str(p.notebook_dir / f"{notebook}.ipynb"),
            str(folder / f"{notebook}.ipynb"),
            parameters=params,
            kernel_name=KERNEL,
            # the kernel starts in the notebooks' folder; papermill's own `cwd=` would chdir
            # this whole process, which parallel jobs then restore in the wrong order
            resources={"metadata": {"path": str(p.notebook_dir)}},
            progress_bar=False,
            log_output=False,
            execution_timeout=p.timeout,
            kernel_manager_class=_quiet_kernel_manager(),
            engine_name=_engine(),
        )
    except pm.PapermillExecutionError as exc:
        return "failed", f"cell [{exc.exec_count}] raised {exc.ename}"  # numbered as run
    except CellTimeoutError:
        return "timed out", f"a cell ran longer than {p.timeout} s; its kernel was stopped"
    except DeadKernelError:
        return "died", "the kernel died (out of memory, or the process exited)"
    except Exception as exc:
        return "failed", f"could not run: {type(exc).__name__}"
    finally:
        _close_thread_loop()
    return "passed", ""


def _close_thread_loop() -> None:
    """Close the event loop Papermill opened in this worker thread (it would leak otherwise)."""
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    if not loop.is_running():
        loop.close()


@functools.cache
def _engine() -> str:
    """Papermill's nbclient engine, writing the output notebook when it starts and ends only.

    Papermill writes the whole notebook (validated, charts included) before and after every
    cell, in this process: about 0.4 s of CPU per notebook, taken from the kernels. The batch
    reads an executed notebook only once its kernel has stopped; one that fails, dies or times
    out is still written when its execution ends.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class StartEndManager(NotebookExecutionManager):
        def save(self, **kwargs: Any) -> None:
            if kwargs.get("final"):  # not around each cell, nor papermill's 30 s autosave
                super().save()

        def notebook_start(self, **kwargs: Any) -> None:
            super().notebook_start(**kwargs)
            self.save(final=True)

        def notebook_complete(self, **kwargs: Any) -> None:
            super().notebook_complete(**kwargs)
            self.save(final=True)

    class StartEndEngine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls, nb: Any, kernel_name: str, output_path: str | None = None, **kwargs: Any
        ) -> Any:
            kwargs.pop("progress_bar", None)
            kwargs.pop("autosave_cell_every", None)
            manager = StartEndManager(nb, output_path=output_path, progress_bar=False,
                                      log_output=kwargs.get("log_output", False))  # fmt: skip
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, **kwargs)
            finally:
                manager.notebook_complete()
            return manager.nb

    papermill_engines.register(ENGINE, StartEndEngine)
    return ENGINE


def _quiet_kernel_manager() -> type:
    """A kernel manager whose kernels' stderr stays out of the run's log.

    Kernel chatter (transport warnings, shutdown noise) is not for cron logs, and a kernel's
    stderr may echo data; a failure is reported by its exception name instead.
    """
    import subprocess

    from jupyter_client.manager import AsyncKernelManager

    from govlib import reports

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw.setdefault("stderr", subprocess.DEVNULL)
            kw.setdefault("stdout", subprocess.DEVNULL)
            # charts come back as specs, drawn here with one engine (govlib.reports.draw_charts)
            kw["env"] = {**(kw.get("env") or os.environ), reports.CHART_SPEC_ENV: "spec"}
            await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


def _reporter(total: int) -> tuple[Callable[[JobResult], None], Callable[[], None]]:
    """A live bar on a terminal; one line per notebook otherwise (cron logs)."""
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        progress = Progress(
            "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), transient=False,
        )  # fmt: skip
        task = progress.add_task("running notebooks", total=total)
        progress.start()

        def step(r: JobResult) -> None:
            extra = f" - {r.reason}" if r.reason else ""
            progress.console.print(f"{r.label}: {r.status} ({r.seconds:.1f} s){extra}")
            progress.advance(task)

        return step, progress.stop
    done = [0]

    def line(r: JobResult) -> None:
        done[0] += 1
        extra = f" - {r.reason}" if r.reason else ""
        print(
            f"govlib run: [{done[0]}/{total}] {r.label}: {r.status} in {r.seconds:.1f} s{extra}",
            file=sys.stderr,
            flush=True,
        )

    return line, lambda: None


def new_run_id(now: datetime) -> str:
    """`YYYYMMDDTHHMMSSZ-xxxx`: sortable, unique, never taken from a parameter."""
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


@dataclass(frozen=True, slots=True)
class RunOutcome(Record):
    """Where the run went and how it ended; `summary` is the run's `run.json`."""

    ROWS: ClassVar[str | None] = None
    run_id: str
    folder: str
    exit_code: int
    summary: dict[str, Any]

    @property
    def index(self) -> Path:
        """The run's index page."""
        return Path(self.folder) / "index.html"


def execute(p: Plan, *, now: datetime | None = None) -> RunOutcome:
    """Run every job, build the reports and the index, scan, publish, record history.

    The staging folder (0700, with a lock naming this process) is removed whatever happens
    before it is published: it holds executed notebooks that may carry personal data.
    """
    started_at = now or datetime.now(UTC)
    run_id = new_run_id(started_at)
    staging = publish.open_staging(p.out, run_id)
    try:
        return _execute_in(p, staging, run_id, started_at)
    except BaseException:
        publish.discard(staging)
        raise


def _execute_in(p: Plan, staging: Path, run_id: str, started_at: datetime) -> RunOutcome:
    from govlib import reports

    clock = time.perf_counter()
    cat = catalog_mod.load(p.catalog_path)
    jobs, records, scanner = _run_jobs(p, staging, cat)
    verdicts = _verdicts(cat, jobs, records)
    exit_code = _exit_code(jobs, verdicts)
    summary = {
        "run_id": run_id,
        "started": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - clock, 2),
        "as_of": p.as_of.isoformat(),
        "govlib_version": __version__,
        "catalog": p.catalog_path.name,  # a shared file names no folder of this machine
        "parameters": p.parameters,
        "exit_code": exit_code,
        "jobs": [r.to_dict() for r in jobs],
        "datasets": {name: v.to_dict() for name, v in verdicts.items()},
        "failed": verdicts_mod.failed_areas(verdicts.values()),
        "inputs_sha256": _content_hashes(cat, _datasets_read(cat, p)),
    }
    publish.write(
        {
            staging / "run.json": json.dumps(summary, indent=2, sort_keys=True) + "\n",
            staging / "index.html": reports.render_index(summary),
        },
        scanner,
    )
    final = publish.release(staging, p.out, run_id)
    history.append(p.out, run_id, _history_run(summary), _history_datasets(cat, summary, verdicts))
    return RunOutcome(run_id, str(final), exit_code, summary)


def _run_jobs(
    p: Plan, staging: Path, cat: catalog_mod.Catalog
) -> tuple[list[JobResult], dict[str, dict[str, Any]], LeakScanner]:
    """Run the per-dataset jobs, then the catalog jobs on their records; share what is clean.

    The leak scanner is built while the first jobs run. A catalog notebook (the overview) gets
    the staging folder as `results_dir`, so it reads the records the run computed instead of
    computing them again.
    """
    from govlib import reports

    step, stop = _reporter(len(p.jobs))
    per_dataset = [job for job in p.jobs if job.dataset is not None]
    per_catalog = [job for job in p.jobs if job.dataset is None]
    try:
        with ThreadPoolExecutor(max_workers=1) as side:
            building = side.submit(publish.scanner, cat, _datasets_read(cat, p))
            first = _run_all(per_dataset, p, staging, step, None)
            scanner = building.result()
        headers = _headers(p, staging, first)
        jobs, records = _share(first, staging, scanner, cat, headers)
        later = _run_all(per_catalog, p, staging, step, staging if per_dataset else None)
        jobs += _share(later, staging, scanner, cat, _headers(p, staging, later))[0]
        reports.link_reports(staging, scanner)
    finally:
        stop()
    jobs.sort(key=lambda r: ((r.dataset or "~"), r.notebook))
    return jobs, records, scanner


def _run_all(
    jobs: list[Job],
    p: Plan,
    staging: Path,
    step: Callable[[JobResult], None],
    results_dir: Path | None,
) -> list[tuple[JobResult, dict[str, Any]]]:
    """Run `jobs` on the plan's workers, reporting each as it ends."""
    done = []
    with ThreadPoolExecutor(max_workers=p.workers) as pool:
        futures = [pool.submit(_run_job, job, p, staging, results_dir) for job in jobs]
        for future in as_completed(futures):
            done.append(future.result())
            step(done[-1][0])
    return done


def _headers(
    p: Plan, staging: Path, done: list[tuple[JobResult, dict[str, Any]]]
) -> dict[str | None, dict[str, Any]]:
    """Each dataset's report header: its verdict from every record its jobs saved."""
    from govlib import reports

    saved: dict[str | None, dict[str, Any]] = {}
    for result, records in done:
        saved.setdefault(result.dataset, {}).update(records)
    run_id = publish.run_id_of(staging)
    return {
        name: reports.header(
            dataset=name, as_of=p.as_of.isoformat(), run_id=run_id, index="../index.html",
            verdict=verdicts_mod.build(name, records) if name is not None else None,
        )
        for name, records in saved.items()
    }  # fmt: skip


def _share(
    done: list[tuple[JobResult, dict[str, Any]]],
    staging: Path,
    scanner: LeakScanner,
    cat: catalog_mod.Catalog,
    headers: dict[str | None, dict[str, Any]],
) -> tuple[list[JobResult], dict[str, dict[str, Any]]]:
    """Write each job's clean files into staging; withhold a leaking job whole.

    Returns the jobs as they ended, and per dataset the records of the jobs that were kept.
    """
    jobs: list[JobResult] = []
    records: dict[str, dict[str, Any]] = {}
    for result, saved in done:
        folder = result.dataset or "catalog"
        executed = staging / folder / f"{result.notebook}.ipynb"
        pages, problem = publish.job_files(
            executed, title=f"{folder}: {result.notebook}", results=saved,
            header=headers.get(result.dataset),
        )  # fmt: skip
        if problem:
            result = replace(
                result, status="failed", reason=f"its report was not exported: {problem}"
            )
        elif executed.with_suffix(".html") in pages:
            result = replace(result, report=f"{folder}/{result.notebook}.html")
        found = publish.keep(pages, scanner)
        if found is not None:
            publish.withhold(executed)
            result = replace(
                result, status="refused", report=None, reason=_withheld(found, result, scanner, cat)
            )
        elif result.dataset is not None:
            records.setdefault(result.dataset, {}).update(saved)
        jobs.append(result)
    return jobs, records


def _withheld(found: str, result: JobResult, scanner: LeakScanner, cat: catalog_mod.Catalog) -> str:
    """Why a job was withheld: what was found, and for a catalog job the catalog's places."""
    reason = f"withheld: {found}"
    if result.dataset is None and (places := scanner.check_catalog(cat)):
        reason += "; the catalog's free text holds personal data: " + "; ".join(places)
    return reason


def _datasets_read(cat: catalog_mod.Catalog, p: Plan) -> list[str]:
    """The datasets this run reads: those chosen, or every one when a catalog notebook runs.

    A catalog notebook (the overview) may read every dataset, so the leak scanner must know
    them all; otherwise datasets outside `--datasets` are not read at all.
    """
    cat_names = cat.names()
    if any(job.dataset is None for job in p.jobs):
        return cat_names
    return [name for name in cat_names if name in (p.datasets or cat_names)]


def _content_hashes(cat: catalog_mod.Catalog, names: list[str]) -> dict[str, str | None]:
    """The SHA-256 of each dataset's input, None for one that cannot be read."""
    from govlib import sources
    from govlib.errors import GovlibError

    hashes: dict[str, str | None] = {}
    for name in names:
        try:
            paths = sources.files(cat.dataset(name))
            joined = [sources.file_sha256(path) for path in paths]
        except (GovlibError, OSError):
            hashes[name] = None
            continue
        hashes[name] = joined[0] if len(joined) == 1 else hashlib.sha256(
            "".join(joined).encode()).hexdigest()  # fmt: skip
    return hashes


def _verdicts(
    cat: catalog_mod.Catalog, jobs: list[JobResult], records: dict[str, dict[str, Any]]
) -> dict[str, Verdict]:
    """Per dataset of the catalog: its verdict from the run's records and its notebooks."""
    notebooks: dict[str, dict[str, dict[str, Any]]] = {}
    for r in jobs:
        if r.dataset is not None:
            notebooks.setdefault(r.dataset, {})[r.notebook] = {
                "status": r.status, "report": r.report, "reason": r.reason
            }  # fmt: skip
    return {
        name: verdicts_mod.build(name, records.get(name, {}), notebooks=notebooks.get(name))
        for name in cat.names()
    }


def _exit_code(jobs: list[JobResult], verdicts: dict[str, Verdict]) -> int:
    """4 when anything was withheld, 3 when a job failed, 1 when an area failed, else 0."""
    if any(r.status == "refused" for r in jobs):
        return 4
    if any(r.status != "passed" for r in jobs):
        return 3
    return 1 if any(v.failed for v in verdicts.values()) else 0


def _suite_hash(cat: catalog_mod.Catalog, name: str) -> str | None:
    suite = cat.dataset(name).suite
    path = cat.expectations_dir / f"{suite}.json" if suite else None
    return hashlib.sha256(path.read_bytes()).hexdigest() if path and path.is_file() else None


def _history_run(summary: dict[str, Any]) -> dict[str, Any]:
    keep = ("started", "seconds", "as_of", "govlib_version", "parameters", "exit_code")
    jobs = summary["jobs"]
    return {k: summary[k] for k in keep} | {
        "jobs": len(jobs),
        "failed_jobs": sum(j["status"] != "passed" for j in jobs),
    }


def _history_datasets(
    cat: catalog_mod.Catalog, summary: dict[str, Any], verdicts: dict[str, Verdict]
) -> list[dict[str, Any]]:
    """One history row per dataset this run touched, from its verdict."""
    rows = []
    for name, v in verdicts.items():
        if not v.notebooks:
            continue  # not part of this run
        rows.append(
            {
                "dataset": name,
                "status": v.status,
                "failed": v.failed,
                "overall": v.overall,
                "scores": v.scores,
                "checks": v.checks,
                "overdue": v.overdue,
                "without_consent": v.without_consent,
                "pii_findings": v.pii_findings,
                "undeclared_pii": v.undeclared_pii,
                "input_sha256": summary["inputs_sha256"].get(name),
                "suite_sha256": _suite_hash(cat, name),
                "govlib_version": summary["govlib_version"],
                "parameters": summary["parameters"],
                "seconds": sum(j["seconds"] for j in summary["jobs"] if j["dataset"] == name),
            }
        )
    return rows
