#!/usr/bin/env python3
"""`make demo`: trains every series in dataset/ on its first half and streams the second half to
/predict, so that the dashboard has something to show; then scores the anomalies found against the
ground truth in `<name>.labels.csv`.

    scripts/demo.py [--training-url URL] [--inference-url URL] [--rate N] [--dataset DIR]

Standard library only. Exits 1 when a service does not answer or a request fails.
"""
import argparse
import csv
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def read_series(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [int(r["timestamp"]) for r in rows], [float(r["value"]) for r in rows]


def read_labels(path):
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as f:
        return {int(r["timestamp"]): r["kind"] for r in csv.DictReader(f)}


class Client:
    """One keep-alive connection to a base URL."""

    def __init__(self, base_url, token=None):
        url = urllib.parse.urlsplit(base_url)
        self.connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def post(self, path, body):
        self.connection.request("POST", path, json.dumps(body), self.headers)
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status} {payload[:300].decode(errors='replace')}")
        return json.loads(payload)


def stream(name, timestamps, values, args, results, lock, progress):
    client = Client(args.inference_url, args.token)
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    next_send = time.monotonic()
    flagged = []
    for timestamp, value in zip(timestamps, values):
        if interval:
            next_send += interval
            delay = next_send - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        answer = client.post(f"/predict/{name}", {"timestamp": str(timestamp), "value": value})
        if answer["anomaly"]:
            flagged.append(timestamp)
        with lock:
            progress[name] += 1
    results[name] = flagged


def load_env_file(path):
    """KEY=value lines of .env, for the variables the environment does not set (the services' precedence)."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#") and key not in os.environ:
                os.environ[key] = value.split(" #")[0].strip().strip('"').strip("'")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    load_env_file(os.path.join(here, "..", ".env"))
    ports = {name: os.environ.get(f"{name.upper()}_PORT", default) for name, default in (("training", "8000"), ("inference", "8001"))}
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--training-url", default=os.environ.get("TRAINING_URL", f"http://127.0.0.1:{ports['training']}"))
    parser.add_argument("--inference-url", default=os.environ.get("INFERENCE_URL", f"http://127.0.0.1:{ports['inference']}"))
    parser.add_argument("--dataset", default=os.path.join(here, "..", "dataset"))
    parser.add_argument("--rate", type=float, default=150, help="predicts per second per series (0: as fast as possible)")
    parser.add_argument("--token", default=os.environ.get("API_TOKEN"), help="bearer token, when the services require one (default: API_TOKEN)")
    args = parser.parse_args()

    names = sorted(f[:-4] for f in os.listdir(args.dataset) if f.endswith(".csv") and not f.endswith(".labels.csv"))
    if not names:
        sys.exit(f"no series in {args.dataset}; run: python3 dataset/generate.py")
    series = {}
    try:
        training = Client(args.training_url, args.token)
        for name in names:
            timestamps, values = read_series(os.path.join(args.dataset, f"{name}.csv"))
            half = len(values) // 2
            fit = training.post(f"/fit/{name}", {"timestamps": timestamps[:half], "values": values[:half]})
            print(f"trained {name:<20} {fit['version']:>4}  mean {fit['mean']:.3f}  std {fit['std']:.3f}  on {fit['points_used']} points")
            series[name] = (timestamps[half:], values[half:], read_labels(os.path.join(args.dataset, f"{name}.labels.csv")))
    except (OSError, RuntimeError) as error:
        sys.exit(f"training failed: {error} (is `make start` running?)")

    total = sum(len(s[0]) for s in series.values())
    print(f"streaming {total} predictions ({'as fast as possible' if args.rate <= 0 else f'{args.rate:g}/s per series'}); "
          f"watch {args.inference_url.rsplit(':', 1)[0]}:8002/dashboard")
    results, lock, progress, failures = {}, threading.Lock(), {name: 0 for name in series}, []

    def run(name):
        try:
            stream(name, *series[name][:2], args, results, lock, progress)
        except (OSError, RuntimeError, KeyError, ValueError) as error:
            failures.append(f"{name}: {error}")

    threads = [threading.Thread(target=run, args=(name,), daemon=True) for name in series]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.5)
        with lock:
            done = sum(progress.values())
        print(f"\r  {done}/{total} predictions, {done / max(1e-9, time.monotonic() - started):.0f}/s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if failures:
        sys.exit("predict failed: " + "; ".join(failures))

    print(f"{'series':<20} {'points':>7} {'flagged':>8} {'labelled':>9} {'caught':>7} {'precision':>10} {'recall':>7}")
    for name, (timestamps, _, labels) in series.items():
        flagged = set(results.get(name, []))
        caught = len(flagged & set(labels))
        precision = caught / len(flagged) if flagged else 1.0
        recall = caught / len(labels) if labels else 1.0
        print(f"{name:<20} {len(timestamps):>7} {len(flagged):>8} {len(labels):>9} {caught:>7} {precision:>10.2f} {recall:>7.2f}")


if __name__ == "__main__":
    main()
