#!/usr/bin/env python3
"""Generates the sample series in dataset/: seeded, so every run writes the same bytes.

Each series is a CSV with the header `timestamp,value` (unix seconds, a number), which is what
`POST /fit` takes and what `make demo` streams to `POST /predict`. The first half of each series
is clean and is what the demo trains on; the second half carries injected anomalies, listed in
`<name>.labels.csv` (`timestamp,kind`) as the ground truth.

    python3 dataset/generate.py [--out dataset]
"""
import argparse
import csv
import math
import os
import random

START = 1_767_225_600  # 2026-01-01T00:00:00Z


def temperature_sensor(rng):
    """A room sensor every 5 minutes for 14 days: a daily cycle around 21 °C plus noise.
    Anomalies: a heater fault (spikes to 30+ °C) and a sensor dropping to near 0."""
    step, count = 300, 14 * 288
    values = [21 + 2.5 * math.sin(2 * math.pi * (i % 288) / 288) + rng.gauss(0, 0.4) for i in range(count)]
    anomalies = {}
    for i in rng.sample(range(count // 2 + 10, count - 10), 8):
        values[i] = rng.uniform(30.5, 34.0)
        anomalies[i] = "spike"
    for i in rng.sample([i for i in range(count // 2 + 10, count - 10) if i not in anomalies], 4):
        values[i] = rng.uniform(0.0, 2.0)
        anomalies[i] = "dropout"
    return step, values, anomalies


def server_cpu(rng):
    """A server's CPU utilisation (%) every minute for 3 days: busy hours and a steady floor.
    Anomalies: runaway processes pinning the CPU near 100 %."""
    step, count = 60, 3 * 1440
    values = []
    for i in range(count):
        hour = (i % 1440) / 60
        busy = 18 if 9 <= hour < 18 else 0
        values.append(max(0.0, min(100.0, 30 + busy * 0.5 + rng.gauss(0, 4))))
    anomalies = {}
    for i in rng.sample(range(count // 2 + 10, count - 10), 10):
        values[i] = rng.uniform(96.0, 100.0)
        anomalies[i] = "spike"
    return step, values, anomalies


def request_rate(rng):
    """Requests per second at a web front end every minute for 3 days, a daily wave around 1200/s.
    Anomalies: an outage (the rate falls to almost nothing) and a traffic surge."""
    step, count = 60, 3 * 1440
    values = [1200 + 150 * math.sin(2 * math.pi * (i % 1440) / 1440) + rng.gauss(0, 40) for i in range(count)]
    anomalies = {}
    outage = rng.randrange(count // 2 + 60, count - 200)
    for i in range(outage, outage + 6):
        values[i] = rng.uniform(5, 60)
        anomalies[i] = "outage"
    for i in rng.sample([i for i in range(count // 2 + 10, count - 10) if abs(i - outage) > 10], 6):
        values[i] = rng.uniform(1900, 2300)
        anomalies[i] = "surge"
    return step, values, anomalies


SERIES = {
    "temperature_sensor": temperature_sensor,
    "server_cpu": server_cpu,
    "request_rate": request_rate,
}


def write(out, name, step, values, anomalies):
    with open(os.path.join(out, f"{name}.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "value"])
        for i, v in enumerate(values):
            w.writerow([START + i * step, f"{v:.3f}"])
    with open(os.path.join(out, f"{name}.labels.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "kind"])
        for i in sorted(anomalies):
            w.writerow([START + i * step, anomalies[i]])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for offset, (name, make) in enumerate(SERIES.items()):
        step, values, anomalies = make(random.Random(args.seed + offset))
        write(args.out, name, step, values, anomalies)
        print(f"{name}: {len(values)} points every {step} s, {len(anomalies)} injected anomalies")


if __name__ == "__main__":
    main()
