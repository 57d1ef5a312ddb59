#!/usr/bin/env python3
"""`make soak`: a long steady load against the running services (`make start`) with their memory
sampled, to show that nothing grows after warm-up. Not part of CI (it takes SOAK_MINUTES, default 30).

    scripts/soak.py [--minutes 30] [--rate 2000] [--fit-ratio 0.001] [--warmup-minutes 5]

Prints a sample line every --every seconds (RSS of each service, descriptors of inference) and at the
end the growth from the end of the warm-up to the end of the run; exits 1 when any service grew by more
than --max-growth percent, or when the load saw errors.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.environ.get("RUN_DIR", os.path.join(ROOT, "run"))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def anonymous_mb(pid):
    """The process's own memory (heap, stacks), without the shared libraries' pages that RSS also counts,
    which fault in over time as code paths are first used."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return next(int(line.split()[1]) for line in rollup if line.startswith("Anonymous:")) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 30)))
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--fit-ratio", type=float, default=0.001)
    parser.add_argument("--warmup-minutes", type=float, default=None)
    parser.add_argument("--every", type=float, default=30)
    parser.add_argument("--max-growth", type=float, default=10.0)
    args = parser.parse_args()
    warmup = args.warmup_minutes if args.warmup_minutes is not None else min(5.0, args.minutes / 6)
    pids = {}
    for name in ("training", "inference", "monitoring"):
        try:
            pids[name] = int(open(os.path.join(RUN, f"{name}.pid")).read())
            os.kill(pids[name], 0)
        except (OSError, ValueError):
            sys.exit(f"{name}-service is not running; start the suite with `make start` first")
    load = subprocess.Popen([os.path.join(ROOT, ".build", "release", "anomaly-loadtest"), "--series", "soak",
                             "--duration", str(args.minutes * 60), "--rate", str(args.rate), "--fit-ratio", str(args.fit_ratio),
                             "--connections", "32", "--json", "--quiet"], stdout=subprocess.PIPE, text=True)
    started = time.monotonic()
    samples = []
    print(f"{'minute':>7} " + " ".join(f"{name + ' MB':>14}" for name in pids) + f" {'inference fds':>14} {'inference anon MB':>18}", flush=True)
    while load.poll() is None:
        minute = (time.monotonic() - started) / 60
        sample = {name: rss_mb(pid) for name, pid in pids.items()}
        fds = len(os.listdir(f"/proc/{pids['inference']}/fd"))
        sample["inference anonymous"] = anonymous_mb(pids["inference"])
        samples.append((minute, sample))
        print(f"{minute:7.1f} " + " ".join(f"{sample[name]:14.1f}" for name in pids) + f" {fds:14d} {sample['inference anonymous']:18.1f}", flush=True)
        time.sleep(args.every)
    summary = json.loads(load.stdout.read())
    after_warmup = [s for m, s in samples if m >= warmup] or [samples[-1][1]]
    first, last = after_warmup[0], samples[-1][1]
    failed = False
    print(f"\nload: {summary['requests']:,} requests, {summary['requests_per_second']:,.0f}/s, p99 {summary['latency_ms']['p99']} ms, "
          f"errors {summary['errors']['total']}")
    for name in [*pids, "inference anonymous"]:
        growth = 100 * (last[name] - first[name]) / first[name]
        peak = max(s[name] for _, s in samples)
        print(f"{name:<11} {first[name]:.1f} MB after {warmup:g} min warm-up -> {last[name]:.1f} MB at the end "
              f"({growth:+.1f}%), peak {peak:.1f} MB")
        failed |= growth > args.max_growth
    failed |= summary["errors"]["total"] > 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
