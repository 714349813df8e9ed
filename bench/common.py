"""Shared pieces for the benchmarks: throw-away PostgreSQL databases and measured runs."""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


@contextmanager
def scratch_postgres(prefix: str = "linkwork_bench"):
    """A new empty PostgreSQL database for one benchmark run, dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_measured(args: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Run a command; return (wall seconds, peak resident memory in MiB, stdout)."""
    full_env = {**os.environ, **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=full_env, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss // 1024, out


def linkwork(*args: str) -> list[str]:
    """The argv that runs the `linkwork` command with this interpreter."""
    return [sys.executable, "-m", "linkwork", *args]
