#!/usr/bin/env python3
"""Fit latency, end to end through a running training service: N fits of 10k points (p50/p95), then
fits of 1M points (about 29 MB of JSON; seconds each), then the service's peak RSS.

    scripts/bench-fit.py --training http://127.0.0.1:8000 --pid PID [--small 50] [--large 3]
"""
import argparse
import http.client
import json
import random
import time
from urllib.parse import urlparse


def body(points, seed):
    rng = random.Random(seed)
    start = 1_600_000_000
    return json.dumps({
        "timestamps": list(range(start, start + points * 60, 60)),
        "values": [50 + 10 * rng.random() + rng.gauss(0, 2) for _ in range(points)],
    }).encode()


def timed_fit(target, series, payload):
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    started = time.perf_counter()
    connection.request("POST", f"/fit/{series}", body=payload, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise SystemExit(f"fit answered {response.status}")
    return elapsed


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--training", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--large", type=int, default=3)
    args = parser.parse_args()
    target = urlparse(args.training)
    small = body(10_000, 1)
    small_times = [timed_fit(target, "bench-fit-10k", small) * 1000 for _ in range(args.small)]
    large = body(1_000_000, 2)
    large_times = [timed_fit(target, "bench-fit-1m", large) for _ in range(args.large)]
    print(json.dumps({
        "fit_10k_ms": {"count": len(small_times), "p50": round(percentile(small_times, 0.5), 2), "p95": round(percentile(small_times, 0.95), 2), "max": round(max(small_times), 2)},
        "fit_1m_s": {"body_mb": round(len(large) / 1e6, 1), "runs": [round(t, 3) for t in large_times], "max": round(max(large_times), 3)},
        "training_peak_rss_mb": round(peak_rss_mb(args.pid), 1),
    }))


if __name__ == "__main__":
    main()
