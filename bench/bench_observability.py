"""Observability benchmarks.

cloudwatch_on_off_rps_ratio: requests/s of an authenticated GET /api/profile/ with metrics and
CloudWatch Logs on (flushing every 5 s to the local moto server), divided by the same with both
off. Two gunicorn servers (2 workers each, no worker recycling), one run, ten interleaved rounds
of 500 requests in alternating order; the ratio of the total times. Target >= 0.95.
cloudwatch_on_off_cpu_ratio: the same comparison in worker CPU time per request (all threads,
background sending included), which a shared, busy machine disturbs much less than throughput.

cloudwatch_down_rss_growth_mb: CloudWatch unreachable (the AWS endpoint accepts connections and
never answers), metrics and logs on: the largest growth of one worker's resident memory over
10,000 requests after a 1,000-request warm-up. Target < 50.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys
import threading
import time

from common import bench_env, gunicorn_server, local_aws, manage, measure_rps, prepare_database, rss_mb, worker_pids

PATH = "/api/profile/"
NO_RECYCLING = "--max-requests 0"


class Blackhole:
    """Accepts TCP connections and never answers: a hung CloudWatch endpoint."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(512)
        self.server.settimeout(0.2)
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.held.append(conn)
            if len(self.held) > 2000:  # bounded: the oldest connection goes
                self.held.pop(0).close()

    def __enter__(self) -> Blackhole:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.server.close()


def send_requests(url: str, path: str, total: int, *, headers: dict[str, str], concurrency: int = 4) -> int:
    """Exactly ``total`` requests over keep-alive connections; returns the number of failures."""
    host, port = url.removeprefix("http://").split(":")
    lock = threading.Lock()
    remaining = [total]
    failures = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while True:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures[0] += 1
            except Exception:
                failures[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures[0]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    env = bench_env(GUNICORN_CMD_ARGS=NO_RECYCLING)
    with local_aws(env):
        prepare_database(env)
        token = manage(
            env, "shell", "-c",
            "from tests.factories import make_patient, HospitalFactory;"
            "from accounts.cookies import issue_tokens;"
            "u = make_patient(hospital=HospitalFactory());"
            "print(issue_tokens(user=u).access_token)",
        ).strip().splitlines()[-1]
        headers = {"Cookie": f"access_token={token}"}
        off_env = {**env, "CLOUDWATCH_METRICS_ENABLED": "false", "CLOUDWATCH_LOGS_ENABLED": "false"}
        on_env = {**env, "CLOUDWATCH_METRICS_ENABLED": "true", "CLOUDWATCH_LOGS_ENABLED": "true",
                  "CLOUDWATCH_METRICS_FLUSH_SECONDS": "5"}
        with gunicorn_server(off_env, workers=2) as (off_url, off_master), \
                gunicorn_server(on_env, workers=2) as (on_url, on_master):
            for url in (off_url, on_url):
                measure_rps(url, PATH, seconds=1.5, headers=headers)  # warm every worker
            servers = {"off": (off_url, worker_pids(off_master.pid)), "on": (on_url, worker_pids(on_master.pid))}
            elapsed = {"off": 0.0, "on": 0.0}
            # Whole-run CPU of each server's workers: the "on" workers' background sending counts
            # even when it happens during an "off" round.
            cpu = {name: -cpu_seconds(pids) for name, (_, pids) in servers.items()}
            rounds, per_round = 10, 500
            for round_no in range(rounds):  # short interleaved rounds, order alternating: load drifts
                for name in ("off", "on") if round_no % 2 == 0 else ("on", "off"):
                    url, _ = servers[name]
                    started = time.perf_counter()
                    assert send_requests(url, PATH, per_round, headers=headers) == 0
                    elapsed[name] += time.perf_counter() - started
            time.sleep(6)  # the last batch of logs and metrics leaves
            for name, (_, pids) in servers.items():
                cpu[name] += cpu_seconds(pids)
        total = rounds * per_round
        print(f"cloudwatch_off_rps: {total / elapsed['off']:.0f}")
        print(f"cloudwatch_on_rps: {total / elapsed['on']:.0f}")
        print(f"cloudwatch_on_off_rps_ratio: {elapsed['off'] / elapsed['on']:.2f}")
        print(f"cloudwatch_off_cpu_ms_per_request: {cpu['off'] / total * 1000:.2f}")
        print(f"cloudwatch_on_cpu_ms_per_request: {cpu['on'] / total * 1000:.2f}")
        print(f"cloudwatch_on_off_cpu_ratio: {cpu['off'] / cpu['on']:.2f}", flush=True)

        with Blackhole() as hole:
            down_env = {**on_env, "AWS_ENDPOINT_URL": hole.url, "AWS_READ_TIMEOUT": "2", "AWS_CONNECT_TIMEOUT": "2"}
            with gunicorn_server(down_env, workers=2) as (url, master):
                pids = worker_pids(master.pid)
                assert send_requests(url, PATH, 1000, headers=headers) == 0
                time.sleep(1)
                before = {pid: rss_mb(pid) for pid in pids}
                started = time.perf_counter()
                failures = send_requests(url, PATH, 10_000, headers=headers)
                elapsed = time.perf_counter() - started
                time.sleep(6)  # a flush of metrics and a send of logs against the dead endpoint
                after = {pid: rss_mb(pid) for pid in pids}
                assert worker_pids(master.pid) == pids, "a worker was replaced during the run"
        growth = max(after[pid] - before[pid] for pid in pids)
        print(f"cloudwatch_down_rps: {10_000 / elapsed:.0f}")
        print(f"cloudwatch_down_failed_requests: {failures}")
        print(f"cloudwatch_down_rss_growth_mb: {growth:.1f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
