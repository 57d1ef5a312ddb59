"""The hot path's cost in user-space instructions per cached predict (scripts/instructions-per-predict.sh, inference
under valgrind's cachegrind): a figure this machine's noise cannot move, unlike wrk's, so it can guard the path
against a regression that a timed test could not see.

Session 13 measured about 49,500 (49,163-50,222 over eight runs, ±250 between runs of one binary). The budget
leaves room for that spread and for another machine's libc picking other string routines, and fails on what a
careless change costs: a JSONEncoder for the answer, a dictionary per request, a copy of the body.
"""
import os
import re
import subprocess

from backing_stores import free_port
from service_processes import ROOT, bin_dir

BUDGET = 55_000


def test_a_cached_predict_stays_within_its_instruction_budget(pg, redis):
    env = dict(os.environ, DATABASE_URL=pg.url, REDIS_URL=redis.url, BIN_DIR=str(bin_dir()),
               BENCH_TRAIN_PORT=str(free_port()), BENCH_INFER_PORT=str(free_port()))
    result = subprocess.run([str(ROOT / "scripts" / "instructions-per-predict.sh")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    print("\n" + result.stdout.strip())
    figure = int(re.match(r"([\d,]+) user-space instructions per predict", result.stdout).group(1).replace(",", ""))
    assert 10_000 < figure < BUDGET, f"{figure:,} instructions per predict, budget {BUDGET:,}"
