"""Benchmark: the sample data generator writing 10 million events (30 days) on this machine.

    python -m benchmarks.bench_generator [--events 10000000] [--days 30]
"""

import argparse
import shutil
import sys
import time
from datetime import date

from recsys_pipeline.config import LOCAL_DIR
from recsys_tools.generate_events import generate


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    out = LOCAL_DIR / "bench" / "generator"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    paths = generate(out, date(2019, 10, 1), args.days, users=args.events // 30,
                     products=args.events // 200, events=args.events, seed=7)
    seconds = time.perf_counter() - started
    lines = sum(p.read_bytes().count(b"\n") - 1 for p in paths)
    size = sum(p.stat().st_size for p in paths)
    print(f"generator: {lines:,} events in {args.days} files ({size / 2**30:.2f} GiB) "
          f"in {seconds:.1f} s = {lines / seconds:,.0f} events/s")
    shutil.rmtree(out)


if __name__ == "__main__":
    main(sys.argv[1:])
