"""An optional speed-up for local Spark drivers: a class-data archive of the JVM (``make
spark-class-archive``; nothing else builds it, and everything works without it).

A Spark job's JVM loads and verifies some 15,000 classes before its first result; with class-data
sharing it maps them from an archive instead. This builds one by running each of the pipeline's
four jobs once, in one JVM, on a tiny generated store (the JVM writes the archive at exit), into
the user's cache, keyed by what the JVM checks before it maps an archive (the JDK, and each Spark
jar's path, size and time: a clone elsewhere builds its own). ``scripts/env.sh`` then gives it to
spark-submit's JVM (``SPARK_SUBMIT_OPTS``), the driver's in client mode. A stale archive is
ignored by the JVM, never fatal. Measured gain: docs/benchmarks.md.

    python -m recsys_tools.spark_class_archive            # build (once per JDK and Spark), enable
    python -m recsys_tools.spark_class_archive --remove   # stop using it
"""

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from recsys_pipeline.config import LOCAL_DIR

# What scripts/env.sh reads into SPARK_SUBMIT_OPTS.
OPTIONS_FILE = LOCAL_DIR / "spark" / "submit-java-options"
QUIET = "-Xlog:cds=off,cds+dynamic=off"


def archive_path() -> Path:
    java = shutil.which("java") or "java"
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    jars = Path(importlib.util.find_spec("pyspark").origin).parent / "jars"
    key = hashlib.sha256("\n".join([version, str(Path(java).resolve()), Path(__file__).read_text(), *(
        f"{jar} {jar.stat().st_size} {int(jar.stat().st_mtime)}" for jar in sorted(jars.glob("*.jar")))]).encode())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "recsys"
    return cache / f"spark-driver-classes-{key.hexdigest()[:16]}.jsa"


def workload() -> None:
    """The four jobs once each on a tiny store: what the archive should hold."""
    from recsys.jobs import build_interactions, clean_events, eda_summaries, train_als
    from recsys.params import Settings
    from recsys_tools.generate_events import generate

    start, days = date(2019, 10, 1), 3
    with tempfile.TemporaryDirectory(prefix="recsys-class-archive-") as scratch:
        raw, lake = Path(scratch) / "raw", Path(scratch) / "lake"
        generate(raw, start, days, users=300, products=120, events=9000, seed=7)
        params = Settings(raw_root=str(raw), lake_root=str(lake), eval_days=1, als_ranks=(4,), als_alphas=(1.0,),
                          als_reg_params=(0.05,), als_max_iter=2).to_json()
        dates = [(start + timedelta(days=i)).isoformat() for i in range(days)]
        for day in dates:
            clean_events.main(["--run-date", day, "--params", params])
        for job in (build_interactions, eda_summaries, train_als):
            job.main(["--run-date", dates[-1], "--params", params])


def build() -> Path:
    archive = archive_path()
    if not archive.is_file():
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_suffix(f".{os.getpid()}.partial")
        log = LOCAL_DIR / "spark-class-archive.log"
        print(f"spark-class-archive: building {archive} (about a minute; log: {log})", flush=True)
        # The classpath must be as it will be when jobs run: no SPARK_CONF_DIR of the caller's.
        env = {k: v for k, v in os.environ.items() if k != "SPARK_CONF_DIR"}
        env["SPARK_SUBMIT_OPTS"] = f"-XX:ArchiveClassesAtExit={partial} {QUIET}"
        with open(log, "w") as out:
            subprocess.run(["spark-submit", "--master", "local[*]", "--conf", "spark.log.level=ERROR", __file__,
                            "--workload"], env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
        os.replace(partial, archive)
    OPTIONS_FILE.parent.mkdir(parents=True, exist_ok=True)
    OPTIONS_FILE.write_text(f"-XX:SharedArchiveFile={archive} {QUIET}\n")
    print(f"spark-class-archive: local Spark drivers map {archive} (from the next shell that sources scripts/env.sh)")
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--remove", action="store_true", help="stop using the archive")
    parser.add_argument("--workload", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workload:
        workload()
    elif args.remove:
        OPTIONS_FILE.unlink(missing_ok=True)
    else:
        build()
    return 0


if __name__ == "__main__":
    sys.exit(main())
