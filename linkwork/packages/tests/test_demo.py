"""`linkwork demo` prepares a loaded zone with one login per role; `linkwork serve` serves it.

These run the real commands in subprocesses against a throw-away data folder, so they use
the embedded SQLite database whatever database the rest of the suite runs on.
"""

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth import authenticate

from linkwork.accounts.models import Role, User
from linkwork.packages.demo import reset_demo_logins
from linkwork.packages.generator import generate_package
from linkwork.packages.services import load_package

LOGIN = re.compile(r"^  (.+?)\s{2,}(\S+@example\.org)\s+([A-Za-z0-9]{16})$", re.MULTILINE)


def linkwork(*args, data_dir, **kwargs):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LINKWORK_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "linkwork", *args],
        env=env, capture_output=True, text=True, timeout=300, **kwargs,
    )  # fmt: skip


def logins(output: str) -> dict[str, tuple[str, str]]:
    return {role: (email, password) for role, email, password in LOGIN.findall(output)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    result = linkwork("demo", "--no-serve", "--children", "40", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    # The latest output: its passwords are the ones that work.
    return {"dir": data_dir, "output": result.stdout}


def test_demo_prints_one_login_per_role(demo):
    found = logins(demo["output"])
    assert set(found) == {
        "Programme manager", "Administrator", "Link Worker", "School staff", "Partner staff",
        "Funder",
    }  # fmt: skip
    assert len({password for _, password in found.values()}) == 6


def test_demo_loads_the_zone_into_the_embedded_database(demo):
    data_dir = demo["dir"]
    with sqlite3.connect(data_dir / "linkwork.sqlite3") as db:
        enrolments = db.execute("SELECT count(*) FROM people_enrolment").fetchone()[0]
        registers = db.execute("SELECT count(*) FROM support_registerentry").fetchone()[0]
        roles = dict(
            db.execute(
                "SELECT email, role FROM accounts_user WHERE password NOT LIKE '!%'"
            ).fetchall()
        )
        superuser = db.execute(
            "SELECT is_superuser, is_staff FROM accounts_user WHERE email = 'admin@example.org'"
        ).fetchone()
        partner = db.execute(
            "SELECT partner_id FROM accounts_user WHERE email = 'partner.staff@example.org'"
        ).fetchone()[0]
        funder = db.execute(
            "SELECT payer_code FROM accounts_user WHERE email = 'funder@example.org'"
        ).fetchone()[0]
        # Each service meets on the weekday its registers fall on (SQLite: 0 = Sunday).
        off_day = db.execute(
            "SELECT count(*) FROM support_registerentry r JOIN support_service s "
            "ON s.id = r.service_id WHERE s.weekday IS NULL "
            "OR (CAST(strftime('%w', r.session_date) AS integer) + 6) % 7 <> s.weekday"
        ).fetchone()[0]
        flags = db.execute("SELECT count(*) FROM engagement_flag").fetchone()[0]
        schools = db.execute("SELECT count(*) FROM schools_school").fetchone()[0]
        rounds, shortlisted = db.execute(
            "SELECT count(*), sum(shortlisted) FROM screening_screeninground"
        ).fetchone()
    assert off_day == 0
    assert rounds == schools and shortlisted > 0  # every school screened: a shortlist to review
    assert flags > 0  # raised once the zone is loaded
    assert enrolments == 40
    assert registers > 1000
    assert sorted(roles.values()) == sorted(
        ["manager", "admin", "link_worker", "school_staff", "partner", "funder"]
    )
    assert superuser == (1, 1)
    assert partner is not None
    assert funder == "LA"
    assert (data_dir / "static" / "staticfiles.json").exists()
    assert (data_dir / "demo-zone" / "registers.csv").exists()


def test_running_the_demo_again_keeps_the_zone_and_changes_the_passwords(demo):
    data_dir = demo["dir"]
    again = linkwork("demo", "--no-serve", data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    assert "already loaded" in again.stdout
    before, after = logins(demo["output"]), logins(again.stdout)
    demo["output"] = again.stdout
    assert set(before) == set(after)
    assert all(before[role][1] != after[role][1] for role in before)
    with sqlite3.connect(data_dir / "linkwork.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM people_enrolment").fetchone()[0] == 40


def test_demo_refuses_an_external_database(tmp_path):
    env = {**os.environ, "LINKWORK_DATA_DIR": str(tmp_path)}
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"
    result = subprocess.run(
        [sys.executable, "-m", "linkwork", "demo", "--no-serve"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "unset DATABASE_URL" in result.stderr


def test_serve_help_names_its_options(tmp_path):
    result = linkwork("serve", "--help", data_dir=tmp_path)
    assert result.returncode == 0
    assert "--bind" in result.stdout and "--workers" in result.stdout


@pytest.mark.django_db
def test_demo_logins_sign_in_with_their_scopes(tmp_path):
    generate_package(tmp_path, children=30, seed=4)
    load_package(actor=None, path=tmp_path)
    first = {login.role: login for login in reset_demo_logins(actor=None)}
    assert set(first) == set(Role)
    for login in first.values():
        user = authenticate(email=login.email, password=login.password)
        assert user is not None and user.role == login.role
    staff = User.objects.get(email="school.staff@example.org")
    worker = User.objects.get(email=first[Role.LINK_WORKER].email)
    assert list(staff.schools.all()) == [worker.schools.order_by("urn").first()]
    assert User.objects.get(email="partner.staff@example.org").partner is not None
    assert User.objects.get(email="funder@example.org").payer_code == "LA"
    assert User.objects.get(email="admin@example.org").is_superuser

    again = {login.role: login for login in reset_demo_logins(actor=None)}
    assert User.objects.filter(email__in=[x.email for x in again.values()]).count() == 6
    stale = first[Role.MANAGER]
    assert authenticate(email=stale.email, password=stale.password) is None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(opener, url: str, data: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data else None
    try:
        return opener.open(urllib.request.Request(url, data=body), timeout=10)
    except urllib.error.HTTPError as exc:
        return exc


def test_serve_answers_http_and_a_demo_login_signs_in(demo):
    data_dir = demo["dir"]
    email, password = logins(demo["output"])["Programme manager"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LINKWORK_DATA_DIR"] = str(data_dir)
    server = subprocess.Popen(
        [sys.executable, "-m", "linkwork", "serve", "--bind", f"127.0.0.1:{port}", "--workers",
         "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = opener.open(f"{base}/accounts/login/", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.5)
        assert page.status == 200
        html = page.read().decode()
        stylesheet = re.search(r'href="(/static/[^"]+\.css)"', html).group(1)
        assert opener.open(base + stylesheet, timeout=10).status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        home = get(
            opener,
            f"{base}/accounts/login/",
            {"csrfmiddlewaretoken": token, "login": email, "password": password},
        )
        assert home.status == 200
        assert home.url.rstrip("/") == base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
