"""The load benchmarks' machinery: the service as deployed (production settings, PostgreSQL, Redis,
CloudWatch on against the local emulator, gunicorn with ``deploy/gunicorn.conf.py``), driven by
wrk on loopback, with the workers' CPU time and memory read from ``/proc``, and where the rest of
the machine's CPU went (PostgreSQL, the emulator, everything) read the same way.

Every wrk run is bounded by its duration (and optionally a request count); every server is stopped
on the way out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from common import ROOT, local_aws, manage, rss_mb, worker_pids

from phb.localaws import free_port, wait_for_http

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
THREADS, CONNECTIONS = 2, 16  # wrk -t2 -c16
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}  # as the ALB sends


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


@contextmanager
def fresh_database(url: str, *, suffix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database named after ``url``'s, dropped afterwards."""
    import psycopg

    admin, name = _admin_url(url)
    name = f"{name}_{suffix}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_env(database_url: str) -> dict[str, str]:
    """Production settings with throwaway secrets, loopback hosts, CloudWatch on."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings_production",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "DJANGO_SECRET_KEY": "bench-" + "s" * 50,
        "JWT_SIGNING_KEY": "bench-" + "j" * 50,
        "OTP_PEPPER": "bench-" + "p" * 40,
        "USER_REF_KEY": "bench-" + "u" * 40,
        "EMAIL_URL": "dummymail://",  # no mail is sent under load; production refuses the console
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CORS_ALLOWED_ORIGINS": "http://localhost:5173",
        "FRONTEND_URL": "https://localhost:5173",
        "PAYSTACK_SECRET_KEY": "sk_test_bench",
        "PAYSTACK_PUBLIC_KEY": "pk_test_bench",
        "CLOUDWATCH_LOGS_ENABLED": "true",
        "CLOUDWATCH_METRICS_ENABLED": "true",
        "PHB_ENVIRONMENT": "bench",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "ACCESS_TOKEN_MINUTES": "240",  # the callers' cookies outlive the longest run
    })
    return env


@contextmanager
def deployed_service(database_url: str) -> Iterator[tuple[str, dict, subprocess.Popen, Path]]:
    """Migrated database, provisioned emulator, seeded data, gunicorn as deployed: (url, callers, master, logs)."""
    env = production_env(database_url)
    with local_aws(env):
        manage(env, "migrate", "--noinput")
        manage(env, "provision_aws")
        out = manage(env, "shell", "-c", "from bench.load_data import seed; seed()")
        line = next(x for x in out.splitlines() if x.startswith("BENCH-CALLERS "))
        callers = json.loads(line.removeprefix("BENCH-CALLERS "))
        # The tables as autovacuum keeps them on a live database. Planner statistics: without them a
        # bulk-loaded table is planned as if it held one row (a 1,000-row history was joined in full
        # and sorted instead of read in index order), and autovacuum would change the plans mid-run.
        # The visibility map: without it every index-only scan (the capped counts) visits the heap.
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        with gunicorn_as_deployed(env) as (url, master, logs):
            yield url, callers, master, logs


@contextmanager
def gunicorn_as_deployed(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    logs = Path(tempfile.mkdtemp(prefix="phb-load-"))
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESS_LOG": str(logs / "access.log"),
           "GUNICORN_ERROR_LOG": str(logs / "error.log")}
    with open(logs / "app.log", "wb") as app_log:
        master = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "phb.wsgi:application", "--config",
             str(ROOT / "deploy" / "gunicorn.conf.py")],
            env=env, cwd=ROOT, stdout=app_log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{url}/healthz", timeout=90)
            yield url, master, logs
        finally:
            master.terminate()
            try:
                master.wait(timeout=40)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait(timeout=10)
            shutil.rmtree(logs, ignore_errors=True)


# --- CPU and memory of the workers ---------------------------------------------------------------
def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU seconds of the live workers plus every reaped one (the master's children times)."""
    fields = _stat(master_pid)
    total = int(fields[13]) + int(fields[14])  # cutime, cstime of the master (reaped workers)
    for pid in worker_pids(master_pid):
        try:
            f = _stat(pid)
        except FileNotFoundError:
            continue
        total += int(f[11]) + int(f[12])  # utime, stime
    return total / CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, its live children and every child it has reaped."""
    fields = _stat(pid)
    total = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    for child in worker_pids(pid):
        try:
            f = _stat(child)
        except FileNotFoundError:
            continue
        total += int(f[11]) + int(f[12])
    return total / CLOCK_TICKS


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine, all cores (``/proc/stat``: user, nice, system, irq and
    softirq; not idle, iowait or time the hypervisor gave to other machines)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in f.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def postmaster_pid(database_url: str) -> int | None:
    """The PostgreSQL server's main process (the parent of this connection's backend), if it is local."""
    import psycopg

    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            return int(_stat(backend)[1])  # while the backend is still there
    except (OSError, psycopg.Error, IndexError, ValueError):
        return None


def emulator_pid() -> int | None:
    """The moto server this process started (``common.local_aws``), if there is one."""
    for pid in worker_pids(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"moto.server" in argv:
            return pid
    return None


def cpu_meters(*, database_url: str) -> dict[str, Callable[[], float]]:
    """Counters of CPU seconds besides the workers': ``postgres``, ``emulator`` (where found), ``machine``."""
    meters: dict[str, Callable[[], float]] = {}
    for name, pid in (("postgres", postmaster_pid(database_url)), ("emulator", emulator_pid())):
        if pid is not None:
            meters[name] = lambda pid=pid: tree_cpu_seconds(pid)
    meters["machine"] = machine_cpu_seconds
    return meters


def workers_rss(master_pid: int) -> dict[int, float]:
    out = {}
    for pid in worker_pids(master_pid):
        try:
            out[pid] = rss_mb(pid)
        except FileNotFoundError:
            pass
    return out


def worker_boots(logs: Path) -> int:
    try:
        return (logs / "error.log").read_text(errors="replace").count("Booting worker")
    except FileNotFoundError:
        return 0


# --- wrk -----------------------------------------------------------------------------------------
def tcp_retransmits() -> int:
    """The kernel's count of retransmitted TCP segments (``TcpRetransSegs``), 0 where unreadable.

    Each request of a sync worker is a new connection that the server closes, so loopback fills
    with TIME_WAIT sockets; a new connection that lands on one of their port pairs has its SYN
    retransmitted a second later, which shows as a one-second tail in wrk's percentiles."""
    try:
        with open("/proc/net/snmp") as f:
            lines = [line.split() for line in f if line.startswith("Tcp:")]
        header, values = lines[0], lines[1]
        return int(values[header.index("RetransSegs")])
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class Run:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_seconds: float
    tcp_retransmits: int = 0  # segments the kernel retransmitted during the run (all of loopback)
    other_cpu_seconds: dict[str, float] = field(default_factory=dict)  # by meter (``cpu_meters``)

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.requests)

    def other_cpu_ms_per_request(self, meter: str) -> float | None:
        if meter not in self.other_cpu_seconds:
            return None
        return 1000 * self.other_cpu_seconds[meter] / max(1, self.requests)


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNIT[match.group(2)]


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for these values


def write_script(requests: list[tuple[str, dict[str, str]]]) -> Path:
    """A wrk script cycling over ``requests`` (path, headers)."""
    entries = []
    for path, headers in requests:
        merged = {**PROXY_HEADERS, **headers}
        pairs = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in merged.items())
        entries.append(f"  wrk.format('GET', {_lua_string(path)}, {{{pairs}}})")
    script = (
        "local reqs = {\n" + ",\n".join(entries) + "\n}\n"
        "local i = 0\n"
        "math.randomseed(os.time())\n"
        "function init(args) i = math.random(#reqs) - 1 end\n"
        "function request() i = i % #reqs + 1; return reqs[i] end\n"
    )
    path = Path(tempfile.mkstemp(prefix="phb-wrk-", suffix=".lua")[1])
    path.write_text(script)
    return path


def wrk(url: str, requests: list[tuple[str, dict[str, str]]], *, seconds: float, master_pid: int,
        connections: int = CONNECTIONS, meters: dict[str, Callable[[], float]] | None = None) -> Run:
    """One bounded wrk run; fails loudly on wrk errors. The script is removed afterwards."""
    script = write_script(requests)
    meters = meters or {}
    try:
        others_before = {name: read() for name, read in meters.items()}
        cpu_before = workers_cpu_seconds(master_pid)
        retransmits_before = tcp_retransmits()
        done = subprocess.run(
            ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency", "--timeout", "10s",
             "-s", str(script), url],
            capture_output=True, text=True, timeout=seconds + 60,
        )
        cpu_after = workers_cpu_seconds(master_pid)
        others = {name: read() - others_before[name] for name, read in meters.items()}
        retransmits = tcp_retransmits() - retransmits_before
    finally:
        script.unlink(missing_ok=True)
    text = done.stdout
    if done.returncode != 0 or "Requests/sec" not in text:
        raise RuntimeError(f"wrk failed: {done.returncode} {text[-500:]} {done.stderr[-500:]}")
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", text, flags=re.M))
    if "99" not in percentiles or total is None:
        raise RuntimeError(f"unexpected wrk output: {text[-800:]}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    requests_done = int(total.group(1))
    elapsed = _ms(total.group(2) + total.group(3)) / 1000
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(int(x) for x in sockets.groups()) if sockets else 0)
    return Run(requests=requests_done, seconds=elapsed, rps=requests_done / elapsed if elapsed else 0.0,
               p50_ms=_ms(percentiles["50"]), p99_ms=_ms(percentiles["99"]), errors=errors,
               cpu_seconds=cpu_after - cpu_before, tcp_retransmits=retransmits, other_cpu_seconds=others)


def wrk_count(url: str, requests: list[tuple[str, dict[str, str]]], *, count: int, rate: float, master_pid: int,
              limit_seconds: float = 600.0) -> Run:
    """At least ``count`` requests, in wrk runs bounded by time and sized from ``rate`` (req/s), within
    ``limit_seconds``. Each run ends by its duration, when wrk closes every connection: stopping wrk's
    threads at a count instead leaves connections it opened but never sent a request on, and a sync
    worker waits on such a connection until the worker timeout kills it."""
    started = time.monotonic()
    runs: list[Run] = []
    while sum(r.requests for r in runs) < count:
        left = limit_seconds - (time.monotonic() - started)
        if left < 5:
            break
        missing = count - sum(r.requests for r in runs)
        runs.append(wrk(url, requests, seconds=min(left, max(5.0, 1.05 * missing / max(rate, 0.1))), master_pid=master_pid))
    requests_done = sum(r.requests for r in runs)
    elapsed = sum(r.seconds for r in runs)
    return Run(requests=requests_done, seconds=elapsed, rps=requests_done / elapsed if elapsed else 0.0,
               p50_ms=max((r.p50_ms for r in runs), default=0.0), p99_ms=max((r.p99_ms for r in runs), default=0.0),
               errors=sum(r.errors for r in runs), cpu_seconds=sum(r.cpu_seconds for r in runs),
               tcp_retransmits=sum(r.tcp_retransmits for r in runs))


def settle(seconds: float = 1.0) -> None:
    time.sleep(seconds)


def open_connections(port: int) -> int:
    """Connections to ``port`` on this machine that the server has not closed yet (established, or
    closed by the client and waiting for the server): requests queued or being answered. The sync
    workers close every connection after its response."""
    waiting = {"01", "08"}  # ESTABLISHED, CLOSE_WAIT
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] in waiting:
                count += 1
    return count


def quiesce(master_pid: int, *, port: int | None = None, idle_ms_per_second: float = 50.0,
            timeout: float = 30.0) -> float:
    """Wait until the service is idle: requests of a slow endpoint that were already sent keep the
    workers busy after wrk stops, and the next measurement would queue behind them. Idle is less
    than ``idle_ms_per_second`` of worker CPU over a quarter of a second and, given the service's
    ``port``, no connection still open to it: a worker waiting on the emulator uses no CPU but
    still holds its request. Returns the wait."""
    started = time.monotonic()
    before = workers_cpu_seconds(master_pid)
    while time.monotonic() - started < timeout:
        time.sleep(0.25)
        now = workers_cpu_seconds(master_pid)
        cpu_idle = (now - before) * 1000 < idle_ms_per_second * 0.25
        if cpu_idle and (port is None or open_connections(port) == 0):
            break
        before = now
    return time.monotonic() - started
