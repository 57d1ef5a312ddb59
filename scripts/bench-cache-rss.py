#!/usr/bin/env python3
"""Inference memory with many models cached: creates N one-version series straight in Postgres (fast),
predicts once on each through a running inference service (so each model is read and kept in memory),
then prints the service's resident memory.

    scripts/bench-cache-rss.py --database-url URL --inference http://127.0.0.1:8001 --pid PID [--series 100000]
"""
import argparse
import http.client
import json
import subprocess
import threading
import time
from urllib.parse import urlparse


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--inference", default="http://127.0.0.1:8001")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    prefix = f"rss{int(time.time())}-"
    sql = f"""
        INSERT INTO series (series_id, latest_version) SELECT '{prefix}' || i, 1 FROM generate_series(1, {args.series}) i;
        INSERT INTO model_versions (series_id, version, mean, std, threshold, direction, points_used, first_timestamp, last_timestamp)
        SELECT '{prefix}' || i, 1, 50 + i % 7, 5, 3, 'both', 10, 0, 540 FROM generate_series(1, {args.series}) i;
    """
    subprocess.run(["psql", args.database_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)
    before = rss_mb(args.pid)
    target = urlparse(args.inference)
    errors = []
    counter = iter(range(1, args.series + 1))
    lock = threading.Lock()

    def worker():
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            connection.request("POST", f"/predict/{prefix}{index}", body=json.dumps({"timestamp": "100", "value": 80}),
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    time.sleep(1)
    print(json.dumps({"series": args.series, "errors": len(errors), "seconds": round(elapsed, 1),
                      "rss_before_mb": round(before, 1), "rss_after_mb": round(rss_mb(args.pid), 1)}))


if __name__ == "__main__":
    main()
