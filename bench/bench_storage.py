"""Storage benchmarks.

guideline_9mb_rss_growth_mb: peak RSS of the (single) gunicorn worker while a 9 MB guideline is
uploaded (POST /api/clinical-guidelines/upload/, multipart) and then downloaded
(GET .../download/), minus its RSS when idle after warm-up requests (a small upload and
download, so the S3 client and its models are already loaded). Target < 30: the upload is spooled
to a temporary file and sent to S3 from it, the download is streamed in 64 KiB chunks.
guideline_9mb_upload_s / guideline_9mb_download_s: wall time of each of those two requests.
"""

from __future__ import annotations

import http.client
import os
import sys
import time
import uuid

from common import (
    PeakRss,
    bench_env,
    gunicorn_server,
    local_aws,
    prepare_database,
    rss_mb,
    setup_django,
    worker_pids,
)

GUIDELINE_MB = 9


def _author_cookie() -> str:
    from accounts.cookies import issue_tokens
    from tests.factories import DepartmentFactory, HospitalFactory, make_doctor

    doctor = make_doctor(department=DepartmentFactory(hospital=HospitalFactory()))
    return str(issue_tokens(user=doctor).access_token)


def _pdf(size: int) -> bytes:
    head = b"%PDF-1.7\n"
    return head + os.urandom(size - len(head))


def _multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"----phb-bench-{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode()
    )
    parts.append(content)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _connection(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=120)


def _upload(url: str, cookie: str, content: bytes) -> str:
    import json

    body, content_type = _multipart(
        {"title": "Bench guideline", "description": "Large file", "category": "other", "keywords": "bench,large"},
        "bench.pdf", content,
    )
    conn = _connection(url)
    conn.request("POST", "/api/clinical-guidelines/upload/", body=body,
                 headers={"Cookie": f"access_token={cookie}", "Content-Type": content_type})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status != 201:
        raise RuntimeError(f"upload answered {response.status}: {data[:300]!r}")
    return json.loads(data)["guideline_id"]


def _download(url: str, cookie: str, guideline_id: str) -> int:
    conn = _connection(url)
    conn.request("GET", f"/api/clinical-guidelines/{guideline_id}/download/",
                 headers={"Cookie": f"access_token={cookie}"})
    response = conn.getresponse()
    total = 0
    while True:
        chunk = response.read(256 * 1024)
        if not chunk:
            break
        total += len(chunk)
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"download answered {response.status}")
    return total


def main() -> None:
    env = bench_env(LOG_LEVEL="WARNING")
    with local_aws(env):
        prepare_database(env)
        setup_django(env)
        cookie = _author_cookie()
        from django.db import connections

        connections.close_all()
        small = _pdf(64 * 1024)
        large = _pdf(GUIDELINE_MB * 1024 * 1024)
        with gunicorn_server(env, workers=1) as (url, master):
            pids = worker_pids(master.pid)
            for _ in range(3):  # warm the worker: imports, S3 client and connections
                _download(url, cookie, _upload(url, cookie, small))
            time.sleep(0.5)
            idle = max(rss_mb(pid) for pid in pids)
            with PeakRss(pids) as peak:
                started = time.perf_counter()
                guideline_id = _upload(url, cookie, large)
                uploaded = time.perf_counter()
                received = _download(url, cookie, guideline_id)
                downloaded = time.perf_counter()
            assert received == len(large), received
            growth = max(peak.peak.values()) - idle
        print(f"guideline_9mb_rss_growth_mb: {growth:.1f}")
        print(f"guideline_9mb_upload_s: {uploaded - started:.2f}")
        print(f"guideline_9mb_download_s: {downloaded - uploaded:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
