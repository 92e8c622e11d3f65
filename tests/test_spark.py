"""What a Spark task ships and sets: the shared package (one archive per content, built safely by
tasks at once), Spark's Python compiled for a local driver, the conf and the quick JIT."""

import multiprocessing
import os
import zipfile

from recsys_pipeline.spark import PACKAGE_DIR, build_package_zip
from tests.helpers import write_raw


def _build(barrier, build_dir, results):
    barrier.wait()  # every process starts building at the same moment
    try:
        results.put(str(build_package_zip(build_dir=build_dir)))
    except Exception as exc:  # noqa: BLE001 - the test reports what failed
        results.put(f"failed: {exc!r}")


def test_tasks_building_the_package_at_once_all_get_the_same_whole_archive(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(8), context.Queue()
    workers = [context.Process(target=_build, args=(barrier, tmp_path, results)) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    got = {results.get(timeout=5) for _ in workers}
    assert len(got) == 1, got
    archive = got.pop()
    assert archive.startswith(str(tmp_path / "recsys-")) and archive.endswith(".zip")
    assert [p.name for p in tmp_path.iterdir()] == [archive.rsplit("/", 1)[1]]  # no temporary left
    names = zipfile.ZipFile(archive).namelist()
    assert sorted(names) == sorted(f"recsys/{p.relative_to(PACKAGE_DIR)}" for p in PACKAGE_DIR.rglob("*.py"))


def test_the_archive_is_reproducible_and_named_by_its_content(tmp_path):
    first = build_package_zip(build_dir=tmp_path / "a")
    second = build_package_zip(build_dir=tmp_path / "b")
    assert first.name == second.name and first.read_bytes() == second.read_bytes()


def conf_of(task_id: str, settings) -> dict:
    """What a Spark task submits for these Params: its conf rendered as Airflow renders it."""
    from recsys_pipeline.spark import submitted_conf
    from recsys_tools.run_dag import load_dag

    task = load_dag().get_task(task_id)
    env = task.get_template_env()
    return submitted_conf({k: env.from_string(v).render(params=settings.as_params()) for k, v in task.conf.items()})


def test_spark_resources_come_from_the_params_and_empty_ones_are_left_to_the_cluster():
    from recsys.params import Settings

    small = {"spark.log.level": "WARN", "spark.driver.memory": "2g"}
    assert conf_of("clean_events", Settings()) == conf_of("train_als", Settings()) == small
    # Left empty as earlier runs' confs held it, not null: the same.
    assert conf_of("train_als", Settings(als_driver_memory="", spark_executor_memory="")) == small
    sized = Settings(als_driver_memory="6g", spark_executor_memory="4g", spark_executor_cores=2,
                     spark_shuffle_partitions=64)
    cluster = {"spark.executor.memory": "4g", "spark.executor.cores": "2", "spark.sql.shuffle.partitions": "64"}
    assert conf_of("train_als", sized) == {**small, **cluster, "spark.driver.memory": "6g"}
    assert conf_of("clean_events", sized) == {**small, **cluster}


def test_a_small_local_job_gets_the_quick_jit_and_keeps_the_options_it_had(monkeypatch):
    from recsys.params import Settings
    from recsys_pipeline.spark import QUICK_JIT, quick_jit_env

    monkeypatch.setenv("SPARK_SUBMIT_OPTS", "-XX:SharedArchiveFile=a.jsa")
    settings = Settings()  # quick_jit_max_mb 500, window_days 30
    assert quick_jit_env("clean_events", 8.5, settings, "local[*]") == {
        "SPARK_SUBMIT_OPTS": f"-XX:SharedArchiveFile=a.jsa {QUICK_JIT}"}
    assert quick_jit_env("train_als", 16.6, settings, "local[2]")  # 30 x 16.6 = 498 MB
    assert quick_jit_env("train_als", 16.7, settings, "local[2]") == {}  # 501 MB of window
    assert quick_jit_env("eda_summaries", 43.1, settings, "local[*]")  # a 10m day: one day's events
    assert quick_jit_env("build_interactions", 43.1, settings, "local[*]") == {}  # its window: 1.3 GB
    assert quick_jit_env("clean_events", 8.5, settings, "spark://master") == {}  # a cluster's driver: as it is
    assert quick_jit_env("clean_events", 8.5, settings, "local")
    assert quick_jit_env("clean_events", 8.5, settings, "local[4,2]")
    assert quick_jit_env("clean_events", 8.5, settings, "local-cluster[2,1,1024]") == {}
    assert quick_jit_env("clean_events", 8.5, settings, "localhost") == {}  # the hook makes it spark://localhost
    assert quick_jit_env("clean_events", None, settings, "local[*]") == {}  # size unknown
    assert quick_jit_env("clean_events", 0.1, Settings(quick_jit_max_mb=0), "local[*]") == {}
    monkeypatch.delenv("SPARK_SUBMIT_OPTS")
    assert quick_jit_env("clean_events", 8.5, settings, "local[*]") == {"SPARK_SUBMIT_OPTS": QUICK_JIT}


def test_the_input_check_measures_the_days_events_counting_gzip_as_the_csv_it_holds(tmp_path):
    import gzip

    from recsys_pipeline.raw_input import GZIP_RATIO, raw_megabytes

    plain = write_raw(tmp_path, "2019-10-01", ["x" * 999_000])
    packed = tmp_path / "2019-10-01" / "more.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    expected = (plain.stat().st_size + packed.stat().st_size * GZIP_RATIO) / 1e6
    assert raw_megabytes(str(tmp_path), [str(plain), str(packed)]) == expected
    assert raw_megabytes(str(tmp_path), [str(plain)]) == plain.stat().st_size / 1e6 == 0.999093  # with the header


def _fake_spark_home(root, modules: dict[str, str]):
    lib = root / "python" / "lib"
    lib.mkdir(parents=True)
    with zipfile.ZipFile(lib / "pyspark.zip", "w") as archive:
        for name, text in modules.items():
            archive.writestr(name, text)
    return root


def _import_from(archive, statement: str) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", statement], env={"PYTHONPATH": str(archive)},
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_pyspark_is_shipped_compiled_to_a_local_driver_and_imports_from_its_bytecode(tmp_path):
    from recsys_pipeline.spark import build_compiled_pyspark_zip

    home = _fake_spark_home(tmp_path / "spark", {
        "pyspark/__init__.py": "VALUE = 6 * 7\n",
        "pyspark/sql/__init__.py": "from pyspark import VALUE\nDOUBLED = 2 * VALUE\n",
        "pyspark/sql/tests/test_it.py": "X = 1\n",
    })
    archive = build_compiled_pyspark_zip(home, tmp_path / "build")
    assert sorted(zipfile.ZipFile(archive).namelist()) == [
        "pyspark/__init__.py", "pyspark/__init__.pyc", "pyspark/sql/__init__.py", "pyspark/sql/__init__.pyc",
        "pyspark/sql/tests/test_it.py"]
    assert _import_from(archive, "import pyspark.sql as s; print(s.DOUBLED, s.__file__)") == \
        f"84 {archive}/pyspark/sql/__init__.pyc"
    # Content-named: the same Spark gives the same archive, built once; another Spark, another.
    assert build_compiled_pyspark_zip(home, tmp_path / "build") == archive
    (home / "python/lib/pyspark.zip").unlink()
    assert build_compiled_pyspark_zip(home, tmp_path / "build") is None


def test_bytecode_for_another_python_is_ignored_and_the_source_imported(tmp_path):
    from recsys_pipeline.spark import build_compiled_pyspark_zip

    home = _fake_spark_home(tmp_path / "spark", {"pyspark/__init__.py": "VALUE = 42\n"})
    archive = build_compiled_pyspark_zip(home, tmp_path / "build")
    other = tmp_path / "other-python.zip"
    with zipfile.ZipFile(archive) as original, zipfile.ZipFile(other, "w") as copy:
        for name in original.namelist():
            data = original.read(name)
            copy.writestr(name, b"\x00\x00\r\n" + data[4:] if name.endswith(".pyc") else data)
    assert _import_from(other, "import pyspark; print(pyspark.VALUE, pyspark.__file__)") == \
        f"42 {other}/pyspark/__init__.py"


def test_only_a_local_driver_gets_the_compiled_pyspark(monkeypatch, tmp_path):
    from recsys_pipeline import spark

    monkeypatch.setattr(spark, "build_compiled_pyspark_zip", lambda: tmp_path / "pyspark-compiled.zip")
    package = str(spark.build_package_zip())
    assert spark.py_files("local[*]") == spark.py_files("local[2]") == f"{package},{tmp_path}/pyspark-compiled.zip"
    assert spark.py_files("spark://master:7077") == spark.py_files("yarn") == package
    monkeypatch.setattr(spark, "build_compiled_pyspark_zip", lambda: None)  # a Spark without pyspark.zip
    assert spark.py_files("local[*]") == package


def test_the_compiled_pyspark_is_the_one_of_the_spark_that_spark_submit_runs(monkeypatch, tmp_path):
    import importlib.util
    from pathlib import Path

    from recsys_pipeline.spark import local_spark_home

    pip_pyspark = Path(importlib.util.find_spec("pyspark").origin).parent
    monkeypatch.delenv("SPARK_HOME", raising=False)
    assert local_spark_home() == pip_pyspark  # the virtualenv's spark-submit: pip-installed
    other = tmp_path / "spark-3.5"
    (other / "bin").mkdir(parents=True)
    (other / "bin" / "spark-submit").write_text("#!/bin/sh\n")
    (other / "bin" / "spark-submit").chmod(0o755)
    monkeypatch.setenv("PATH", f"{other / 'bin'}:{os.environ['PATH']}")
    assert local_spark_home() == other  # a Spark distribution first on the PATH
    monkeypatch.setenv("SPARK_HOME", str(tmp_path / "elsewhere"))
    assert local_spark_home() == tmp_path / "elsewhere"  # as spark-submit, $SPARK_HOME first
    monkeypatch.delenv("SPARK_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert local_spark_home() is None
