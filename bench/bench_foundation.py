"""Foundation benchmarks.

profile_rps_ratio: requests/s of an authenticated GET /api/profile/ divided by requests/s of a
bare Django view returning constant JSON, same gunicorn settings (2 workers), one run,
interleaved rounds. Target >= 0.6.
profile_sql_queries: SQL queries of one GET /api/profile/. Target: constant and small.
"""

from __future__ import annotations

import os
import statistics
import sys

from common import bench_env, count_queries, gunicorn_server, local_aws, manage, measure_rps, prepare_database


def main() -> None:
    env = bench_env()
    with local_aws(env):
        prepare_database(env)
        token = manage(
            env, "shell", "-c",
            "from tests.factories import make_patient, HospitalFactory;"
            "from accounts.cookies import issue_tokens;"
            "u = make_patient(hospital=HospitalFactory());"
            "print(issue_tokens(user=u).access_token)",
        ).strip().splitlines()[-1]
        cookie = {"Cookie": f"access_token={token}"}
        with gunicorn_server(env, workers=2) as (url, _):
            measure_rps(url, "/bench/constant/", seconds=1)  # warm both workers
            measure_rps(url, "/api/profile/", seconds=1, headers=cookie)
            bare, profile = [], []
            for _ in range(3):
                bare.append(measure_rps(url, "/bench/constant/", seconds=3))
                profile.append(measure_rps(url, "/api/profile/", seconds=3, headers=cookie))
        print(f"profile_rps: {statistics.mean(profile):.0f}")
        print(f"bare_json_rps: {statistics.mean(bare):.0f}")
        print(f"profile_rps_ratio: {statistics.mean(profile) / statistics.mean(bare):.2f}")
        os.environ.update(env, LOG_LEVEL="WARNING")  # the in-process count prints figures only
        print(f"profile_sql_queries: {count_profile_queries(token)}")


def count_profile_queries(token: str) -> int:
    import django

    django.setup()
    return count_queries(token, "/api/profile/")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
