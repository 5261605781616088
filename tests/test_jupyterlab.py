"""JupyterLab as analysts use it: open quality.ipynb, run all cells, see a chart."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .browser import chromium
from .conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    for part in ("notebooks", "data", "expectations"):
        shutil.copytree(ROOT / part, tmp_path / part)
    shutil.copy(ROOT / "catalog.yaml", tmp_path / "catalog.yaml")
    port, token = free_port(), secrets.token_hex(16)
    settings = tmp_path / ".settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')  # render every cell, in view or not
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / ".runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings)}  # fmt: skip
    log = (tmp_path / "lab.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start")
                time.sleep(0.5)
        yield url, token, tmp_path
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def accept_dialogs(page) -> bool:
    """Accept JupyterLab's dialogs (a slow kernel start asks which kernel to use)."""
    accept = page.locator(".jp-Dialog button.jp-mod-accept")
    if accept.count():
        accept.first.click()
        return True
    return False


def kernel_idle(page) -> bool:
    return page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0


def stuck(page, root: Path, what: str) -> None:
    """Fail with what the page and the server showed, so a hang elsewhere can be read."""
    page.screenshot(path=str(root / "stuck.png"))
    status = page.locator(".jp-Notebook-ExecutionIndicator").first
    shown = status.get_attribute("data-status") if status.count() else "no indicator"
    prompts = " ".join(t.strip() for t in page.locator(".jp-InputPrompt").all_inner_texts())
    dialogs = " | ".join(page.locator(".jp-Dialog").all_inner_texts())
    log = (root / "lab.log").read_text(errors="replace").splitlines()[-15:]
    pytest.fail(
        f"{what}; kernel {shown}; prompts {prompts!r}; dialogs {dialogs!r}; "
        "server log:\n" + "\n".join(log)
    )


@pytest.mark.browser
@pytest.mark.notebook
def test_quality_notebook_runs_in_jupyterlab_and_shows_a_chart(lab):
    url, token, root = lab
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/notebooks/quality.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook", timeout=120_000)
        results = root / "build" / "notebooks" / "results.json"
        cells = len(json.loads((root / "notebooks" / "quality.ipynb").read_text())["cells"])
        deadline = time.monotonic() + 420
        asked = reloaded = -600.0
        seen, changed = (), time.monotonic()
        while not results.is_file():  # the last cell writes it
            now = time.monotonic()
            if now > deadline:
                stuck(page, root, "the notebook did not finish in JupyterLab")
            accept_dialogs(page)  # kernel choice, or restart's confirmation
            if page.locator("[data-mime-type='application/vnd.jupyter.error']").count():
                stuck(page, root, "a cell raised in JupyterLab")
            prompts = tuple(t.strip() for t in page.locator(".jp-InputPrompt").all_inner_texts())
            if prompts != seen:
                seen, changed = prompts, now
            started = any(t not in ("[ ]:", "") for t in prompts)
            idle = kernel_idle(page) and len(prompts) == cells  # every cell rendered
            # cells run but no results and no prompt changed for a minute: the run stopped
            stalled = started and now - changed > 60
            # ask again only 30 s after the last ask: a restart shows idle before it runs cells,
            # and asking then would restart it again, and again
            if idle and (not started or stalled) and now - asked > 30:
                # the toolbar's restart-and-run-all: one button, no menu that a popup can shift
                page.locator("[data-command='notebook:restart-run-all']").first.click()
                asked = changed = now
            elif not idle and now - changed > 120 and now - reloaded > 120:
                # no kernel ready and nothing moving for two minutes: connect afresh
                page.reload()
                page.wait_for_selector(".jp-Notebook", timeout=120_000)
                reloaded = changed = now
            page.wait_for_timeout(500)
        page.wait_for_function(
            "document.querySelectorAll('.jp-RenderedSVG').length >= 2", timeout=60_000
        )
        page.screenshot(path=str(root / "lab.png"))
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                            ).count() == 0  # fmt: skip
    assert (root / "build" / "notebooks" / "results.json").is_file()
    assert Path(root / "lab.png").stat().st_size > 10_000
