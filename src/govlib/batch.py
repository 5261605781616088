"""Batch runs: many datasets x notebooks through Papermill, published atomically.

A run is planned and checked before anything executes: notebook parameters must be
identifiers the notebook declares, of the declared type, plain JSON scalars, and no secret;
datasets must exist. Notebooks then run through Papermill's Python API in this process, in
parallel threads, each with its own kernel (the project's `govlib` kernel) and a timeout per
cell that stops the kernel. A notebook that fails, dies or times out is recorded and the batch
goes on.

Everything is written into a hidden staging folder in `--out`, leak-scanned, and renamed to
`<out>/<run-id>` only when complete; `<out>/latest` then points at it. A killed run leaves the
previous one intact and nothing half-written in view.

Exit codes: 0 all passed, 1 a quality or retention gate failed, 2 a usage or configuration
error, 3 a notebook failed to execute.
"""

from __future__ import annotations

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
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from govlib import __version__, history
from govlib import catalog as catalog_mod
from govlib.errors import ParameterError

KERNEL = "govlib"
DEFAULT_NOTEBOOKS = ("profile", "quality", "retention")
CATALOG_NOTEBOOKS = ("overview",)  # run once per catalog, not per dataset
RESERVED = {"dataset", "catalog_path", "as_of", "output_dir", "history_db"}
SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|api_?key|credential|private_?key", re.I)
SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[baprs]-"
    r"|sk_live_[A-Za-z0-9]{16,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."
)
TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool}


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


@dataclass(slots=True)
class JobResult:
    """How a job ended: status, a value-free reason, timing and where its outputs went."""

    notebook: str
    dataset: str | None
    status: str  # passed, failed, timed out, died
    reason: str
    seconds: float
    report: str | None = None
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`dataset/notebook`, or `catalog/notebook`."""
        return f"{self.dataset or 'catalog'}/{self.notebook}"

    def to_dict(self) -> dict[str, object]:
        """The result, without the records it produced (they go to the verdicts)."""
        d = asdict(self)
        d.pop("results")
        return d


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
    extra: dict[str, Any], declared: dict[str, dict[str, dict[str, Any]]]
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


def _run_job(job: Job, p: Plan, staging: Path) -> JobResult:
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    folder = staging / (job.dataset or "catalog")
    work = folder / f".{job.notebook}"
    work.mkdir(parents=True, exist_ok=True)
    params = job.parameters | {"output_dir": str(work)}
    if "history_db" in notebook_parameters(p.notebook_dir / f"{job.notebook}.ipynb"):
        params["history_db"] = str(p.out / history.DB_NAME)
    started = time.perf_counter()
    status, reason = "passed", ""
    try:
        pm.execute_notebook(
            str(p.notebook_dir / f"{job.notebook}.ipynb"),
            str(folder / f"{job.notebook}.ipynb"),
            parameters=params,
            kernel_name=KERNEL,
            cwd=str(p.notebook_dir),
            progress_bar=False,
            log_output=False,
            execution_timeout=p.timeout,
            kernel_manager_class=_quiet_kernel_manager(),
        )
    except pm.PapermillExecutionError as exc:
        status = "failed"
        reason = f"cell [{exc.exec_count}] raised {exc.ename}"  # numbered as in the notebook
    except CellTimeoutError:
        status, reason = (
            "timed out",
            f"a cell ran longer than {p.timeout} s; its kernel was stopped",
        )
    except DeadKernelError:
        status, reason = "died", "the kernel died (out of memory, or the process exited)"
    except Exception as exc:
        status, reason = "failed", f"could not run: {type(exc).__name__}"
    finally:
        _close_thread_loop()
    results: dict[str, Any] = {}
    result_file = work / "results.json"
    if status == "passed" and result_file.is_file():
        results = json.loads(result_file.read_text(encoding="utf-8"))
    shutil.rmtree(work, ignore_errors=True)
    if status != "passed" and not (folder / f"{job.notebook}.ipynb").is_file():
        reason += " before any output was written"
    return JobResult(
        job.notebook, job.dataset, status, reason, round(time.perf_counter() - started, 2),
        results=results,
    )  # fmt: skip


def _close_thread_loop() -> None:
    """Close the event loop Papermill opened in this worker thread (it would leak otherwise)."""
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    if not loop.is_running():
        loop.close()


def _quiet_kernel_manager() -> type:
    """A kernel manager whose kernels' stderr stays out of the run's log.

    Kernel chatter (transport warnings, shutdown noise) is not for cron logs, and a kernel's
    stderr may echo data; a failure is reported by its exception name instead.
    """
    import subprocess

    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw.setdefault("stderr", subprocess.DEVNULL)
            kw.setdefault("stdout", subprocess.DEVNULL)
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
class RunOutcome:
    """Where the run went and how it ended."""

    run_id: str
    folder: Path
    index: Path
    exit_code: int
    summary: dict[str, Any]


def execute(p: Plan, *, now: datetime | None = None) -> RunOutcome:
    """Run every job, build the reports and the index, scan, publish, record history.

    The staging folder (0700, with a lock naming this process) is removed whatever happens
    before it is published: it holds executed notebooks that may carry personal data.
    """
    started_at = now or datetime.now(UTC)
    run_id = new_run_id(started_at)
    p.out.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(p.out)
    staging = _make_staging(p.out, run_id)
    try:
        return _execute_in(p, staging, run_id, started_at)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _execute_in(p: Plan, staging: Path, run_id: str, started_at: datetime) -> RunOutcome:
    from govlib import reports

    step, stop = _reporter(len(p.jobs))
    results: list[JobResult] = []
    clock = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=p.workers) as pool:
            futures = [pool.submit(_run_job, job, p, staging) for job in p.jobs]
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                step(result)
    finally:
        stop()
    results.sort(key=lambda r: ((r.dataset or "~"), r.notebook))
    cat = catalog_mod.load(p.catalog_path)
    scanner = _scanner(cat, p)
    pages: dict[Path, str] = {}
    for r in results:
        pages |= _job_pages(r, staging, scanner, cat)
    for folder in staging.iterdir():
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # every file of its jobs was withheld
    verdicts = collect_verdicts(cat, results)
    exit_code = _exit_code(results, verdicts)
    summary = {
        "run_id": run_id,
        "started": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - clock, 2),
        "as_of": p.as_of.isoformat(),
        "govlib_version": __version__,
        "catalog": str(p.catalog_path),
        "parameters": p.parameters,
        "exit_code": exit_code,
        "jobs": [r.to_dict() for r in results],
        "datasets": verdicts,
        "inputs_sha256": _content_hashes(cat, _datasets_read(cat, p)),
    }
    pages[staging / "run.json"] = json.dumps(summary, indent=2, sort_keys=True) + "\n"
    pages[staging / "index.html"] = render_index(summary)
    reports.publish(pages, scanner)
    (staging / LOCK_NAME).unlink()
    staging.chmod(0o777 & ~_umask())  # readable as any published folder
    final = p.out / run_id
    staging.rename(final)
    _point_latest(p.out, run_id)
    history.append(p.out, run_id, _history_run(summary), _history_datasets(cat, summary))
    return RunOutcome(run_id, final, final / "index.html", exit_code, summary)


def _datasets_read(cat: catalog_mod.Catalog, p: Plan) -> list[str]:
    """The datasets this run reads: those chosen, or every one when a catalog notebook runs.

    A catalog notebook (the overview) reads every dataset, so the leak scanner must know them
    all; otherwise datasets outside `--datasets` are not read at all.
    """
    cat_names = cat.names()
    if any(job.dataset is None for job in p.jobs):
        return cat_names
    return [name for name in cat_names if name in (p.datasets or cat_names)]


def _scanner(cat: catalog_mod.Catalog, p: Plan):
    """A leak scanner over the datasets the run read; one that cannot be read is skipped.

    A dataset that cannot be read cannot reach a report either: its notebooks fail on it.
    """
    import polars as pl

    from govlib import privacy, sources
    from govlib.errors import GovlibError

    frames = {}
    for name in _datasets_read(cat, p):
        try:
            frames[name] = sources.scan(cat.dataset(name)).collect()
        except (GovlibError, OSError, pl.exceptions.PolarsError):
            continue
    return privacy.LeakScanner.from_frames(cat, frames)


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


def _job_pages(r: JobResult, staging: Path, scanner, cat: catalog_mod.Catalog) -> dict:
    """A job's shared files (notebook, report, results), or none when any holds personal data.

    A report that cannot be exported (over the size limit) fails the job; the rest is kept.
    Withheld files are deleted from staging and the job is recorded as refused.
    """
    import nbformat

    from govlib import reports
    from govlib.privacy import LeakError

    executed = staging / (r.dataset or "catalog") / f"{r.notebook}.ipynb"
    pages: dict[Path, str] = {}
    if executed.is_file():
        nb = _without_error_details(nbformat.read(executed, as_version=4))
        pages[executed] = nbformat.writes(nb)
        try:
            html_page = reports.notebook_html(nb, title=f"{r.dataset or 'catalog'}: {r.notebook}")
            pages[executed.with_suffix(".html")] = html_page
            r.report = f"{r.dataset or 'catalog'}/{r.notebook}.html"
        except reports.ReportError as exc:
            r.status, r.reason = "failed", f"its report was not exported: {exc.problem}"
    if r.results:
        pages[executed.with_suffix(".json")] = json.dumps(r.results, indent=2, sort_keys=True)
    try:
        for path, text in pages.items():
            scanner.check(path.name, text)
    except LeakError as exc:
        executed.unlink(missing_ok=True)
        r.status, r.report, r.results = "refused", None, {}
        r.reason = f"withheld: {exc.found}"
        if r.dataset is None and (places := scanner.check_catalog(cat)):
            r.reason += "; the catalog's free text holds personal data: " + "; ".join(places)
        return {}
    return pages


def _without_error_details(nb):
    """The executed notebook fit for a shared folder: error messages and stderr dropped.

    An exception's message and traceback can quote data; its name is kept, which is enough to
    see what failed where.
    """
    for cell in nb.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.evalue, output.traceback = "", []
            if output.output_type == "stream" and output.get("name") == "stderr":
                continue
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept
    return nb


def _point_latest(out: Path, run_id: str) -> None:
    tmp = out / f".latest-{run_id}"
    tmp.symlink_to(run_id)
    tmp.replace(out / "latest")


def collect_verdicts(cat: catalog_mod.Catalog, results: list[JobResult]) -> dict[str, dict]:
    """Per dataset: the verdicts the index shows, from the jobs' result records."""
    empty = dict.fromkeys(
        ("quality", "overall", "scores", "gate_failures", "checks", "suite", "overdue",
         "without_consent", "undeclared_pii", "pii_findings"),
    )  # fmt: skip
    verdicts: dict[str, dict[str, Any]] = {
        name: {"dataset": name, "notebooks": {}, **empty} for name in cat.names()
    }
    for r in results:
        if r.dataset is None:
            continue
        v = verdicts[r.dataset]
        v["notebooks"][r.notebook] = {"status": r.status, "report": r.report, "reason": r.reason}
        if "quality" in r.results:
            q = r.results["quality"]
            v |= {
                "quality": q["status"],
                "overall": q["overall"],
                "scores": q["scores"],
                "gate_failures": q["gate_failures"],
                "checks": q["counts"],
                "suite": q["suite"],
            }
        if "retention" in r.results:
            rep = r.results["retention"]
            v |= {
                "overdue": rep["overdue"],
                "without_consent": sum(c["processed_without_consent"] for c in rep["consent"]),
            }
        if "profile" in r.results:
            prof = r.results["profile"]
            v |= {
                "undeclared_pii": sum(f["finding"] == "undeclared_pii" for f in prof["findings"]),
                "pii_findings": len(prof["pii"]),
            }
    return verdicts


def _exit_code(results: list[JobResult], verdicts: dict[str, dict]) -> int:
    """4 when anything was withheld, 3 when a job failed, 1 when a gate failed, else 0."""
    if any(r.status == "refused" for r in results):
        return 4
    if any(r.status != "passed" for r in results):
        return 3
    gates = any(
        v.get("quality") in ("failed", "error") or v.get("overdue") for v in verdicts.values()
    )
    return 1 if gates else 0


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


def _history_datasets(cat: catalog_mod.Catalog, summary: dict[str, Any]) -> list[dict]:
    rows = []
    for name, v in summary["datasets"].items():
        notebooks = v.get("notebooks", {})
        if not notebooks:
            continue  # not part of this run
        rows.append(
            {
                "dataset": name,
                "status": _dataset_status(v),
                "overall": v.get("overall"),
                "scores": v.get("scores"),
                "checks": v.get("checks"),
                "overdue": v.get("overdue"),
                "without_consent": v.get("without_consent"),
                "pii_findings": v.get("pii_findings"),
                "undeclared_pii": v.get("undeclared_pii"),
                "input_sha256": summary["inputs_sha256"].get(name),
                "suite_sha256": _suite_hash(cat, name),
                "govlib_version": summary["govlib_version"],
                "parameters": summary["parameters"],
                "seconds": sum(
                    j["seconds"] for j in summary["jobs"] if j["dataset"] == name
                ),
            }
        )  # fmt: skip
    return rows


def _dataset_status(v: dict[str, Any]) -> str:
    statuses = {n["status"] for n in v.get("notebooks", {}).values()}
    if "refused" in statuses:
        return "refused"
    if statuses - {"passed"}:
        return "failed"
    return v.get("quality") or "not run"


def render_index(summary: dict[str, Any]) -> str:
    """The run's index page: one row per dataset with its verdicts and links."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("govlib", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    return env.get_template("index.html.j2").render(run=summary)


LOCK_NAME = ".lock"
STALE_UNLOCKED_S = 6 * 3600


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _make_staging(out: Path, run_id: str) -> Path:
    """A staging folder only this user can enter, locked with this process's id."""
    staging = out / f".staging-{run_id}"
    staging.mkdir(mode=0o700)
    staging.chmod(0o700)  # whatever the umask
    (staging / LOCK_NAME).write_text(f"{os.getpid()} {_started(os.getpid())}\n")
    return staging


def _started(pid: int) -> str:
    """When process `pid` started (clock ticks since boot), or "" where /proc is missing.

    With the id it tells a live run from a new process that happens to reuse its id.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(lock: Path) -> bool:
    """Whether the run that wrote `lock` is still running."""
    try:
        pid_text, _, started = lock.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return not started or _started(pid) in ("", started)


def clean_stale_staging(out: Path, older_than_s: float = STALE_UNLOCKED_S) -> int:
    """Remove staging folders that killed runs left behind (hidden, never published).

    A folder whose lock names a process that is gone goes at once; one without a lock (a run
    of an older govlib, or one that is just starting) only after `older_than_s`.
    """
    removed = 0
    for folder in out.glob(".staging-*"):
        lock = folder / LOCK_NAME
        if lock.is_file():
            stale = not _alive(lock)
        else:
            try:
                stale = time.time() - folder.stat().st_mtime > older_than_s
            except OSError:
                continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
