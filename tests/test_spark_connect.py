"""Spark Connect: `SPARK_REMOTE` sends the Spark engine's work to a Spark Connect server.

A real server (the connect jar ships inside pyspark) starts on a free port for this module; the
govlib commands run in subprocesses with `SPARK_REMOTE` set, so no classic session of another
test stands in the way (PySpark holds one kind of session per process).
"""

import json
import os
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from govlib import profiling, quality

from .conftest import ROOT
from .test_spark import close
from .test_spark import spark_catalog as on_spark

pytestmark = pytest.mark.slow  # the server starts in 10-20 s

AS_OF = date(2025, 1, 31)
MAIN = "import sys; from govlib.cli import main; sys.exit(main(sys.argv[1:]))"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`sc://127.0.0.1:PORT` of a local Spark Connect server, stopped after the module."""
    import pyspark

    home = Path(pyspark.__file__).parent
    port = _free_port()
    work = tmp_path_factory.mktemp("spark-connect")  # its warehouse and metastore land here
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(home / "bin" / "spark-submit"), "--class",
         "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", "local[2]",
         "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.sql.shuffle.partitions=2", "spark-internal"],
        cwd=work, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SPARK_HOME": str(home)},
    )  # fmt: skip
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (work / "server.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"the Spark Connect server did not start:\n{tail}")
                time.sleep(0.25)
        yield f"sc://127.0.0.1:{port}"
    finally:
        proc.terminate()  # the JVM's shutdown hook stops its SparkContext
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def spark_catalog(tmp_path_factory):
    """The sample catalog with every dataset on `engine: spark`."""
    return on_spark(tmp_path_factory.mktemp("connect-catalog"))


def govlib(remote: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPARK_REMOTE": remote}
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args], capture_output=True, text=True, env=env,
        cwd=ROOT, timeout=timeout, check=False,
    )  # fmt: skip


def test_validate_and_profile_through_spark_connect_give_the_polars_records(
    server, spark_catalog, sample_catalog, tmp_path
):
    checked = tmp_path / "customers.json"
    done = govlib(server, "validate", "customers", "--catalog", str(spark_catalog),
                  "--json", str(checked))  # fmt: skip
    assert done.returncode == 1, done.stderr  # the sample's planted defects fail the gate
    want = quality.validate(sample_catalog.dataset("customers"), as_of=AS_OF, engine="polars")
    got = json.loads(checked.read_text())
    assert {c["engine"] for c in got["checks"] if c["source"] == "gx"} == {"ibis"}
    assert close(got, json.loads(json.dumps(want.to_dict(), default=str)))
    profiled = tmp_path / "orders-profile.json"
    done = govlib(server, "profile", "orders", "--catalog", str(spark_catalog),
                  "--json", str(profiled))  # fmt: skip
    assert done.returncode == 0, done.stderr
    polars = profiling.profile_dataset(sample_catalog.dataset("orders"), as_of=AS_OF)
    assert close(
        json.loads(profiled.read_text()), json.loads(json.dumps(polars.to_dict(), default=str))
    )


def test_an_unreachable_spark_connect_server_is_one_line_and_exit_2(spark_catalog):
    started = time.monotonic()
    done = govlib(f"sc://127.0.0.1:{_free_port()}/;token=s3cret", "validate", "orders",
                  "--catalog", str(spark_catalog), timeout=240)  # fmt: skip
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "cannot reach the Spark Connect server at 127.0.0.1:" in line
    assert "s3cret" not in line
    assert time.monotonic() - started < 120  # a few quick tries, not pyspark's ten minutes


def test_without_the_connect_client_spark_remote_is_one_line_naming_the_extra(spark_catalog):
    code = "import sys; sys.modules['grpc'] = None  # as if pyspark[connect] were missing\n" + MAIN
    env = {**os.environ, "SPARK_REMOTE": f"sc://127.0.0.1:{_free_port()}"}
    done = subprocess.run(
        [sys.executable, "-c", code, "validate", "orders", "--catalog", str(spark_catalog)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "SPARK_REMOTE needs the Spark Connect client: pip install govlib[spark]" in line
