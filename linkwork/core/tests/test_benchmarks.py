"""Every benchmark still runs: each at a tiny size, on the PostgreSQL server the suite
uses (the benchmarks make their own scratch databases there). The figures are not
checked; the timings are the benchmarks' business, run by hand at full size."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection

BENCH = Path(__file__).resolve().parents[3] / "bench"

TINY = [
    ("bench_claims.py", "--children", "30", "--sessions", "10"),
    ("bench_engagement.py", "--children", "200", "--weeks", "4", "--repeat", "1"),
    ("bench_generator.py",),
    ("bench_load.py", "--sizes", "30", "--runs", "1"),
    ("bench_pages.py", "--children", "30", "--repeat", "1"),
    ("bench_retention.py", "--children", "30"),
    ("bench_screening.py", "--pupils", "200", "--schools", "4"),
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmarks use PostgreSQL"),
    pytest.mark.skipif(not BENCH.is_dir(), reason="run from a checkout: bench/ is not installed"),
]


def test_every_benchmark_is_listed():
    assert {args[0] for args in TINY} == {p.name for p in BENCH.glob("bench_*.py")}


@pytest.mark.parametrize("args", TINY, ids=[args[0] for args in TINY])
def test_the_benchmark_runs(args):
    server = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["BENCH_PG"] = f"{server.scheme}://{server.netloc}"
    result = subprocess.run(
        [sys.executable, str(BENCH / args[0]), *args[1:]],
        cwd=BENCH.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
