"""What a Spark task ships and sets: the shared package (one archive per content, built safely by
tasks at once) and the conf (a local driver's speed-ups: tests/test_local_driver.py)."""

import multiprocessing
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


def test_a_clusters_secret_reaches_spark_submit_in_the_properties_file_never_on_its_command_line(
        monkeypatch, tmp_path):
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    from recsys_tools.run_dag import load_dag

    properties = tmp_path / "auth.properties"
    properties.write_text("spark.authenticate true\nspark.authenticate.secret not-on-the-command-line\n")
    monkeypatch.setenv("RECSYS_SPARK_PROPERTIES_FILE", str(properties))
    monkeypatch.setenv("AIRFLOW_CONN_RECSYS_SPARK", '{"conn_type": "spark", "host": "spark://master", "port": 7077}')
    task = load_dag().get_task("train_als")
    hook = SparkSubmitHook(conn_id=task._conn_id, properties_file=task.properties_file, conf={"a.b": "c"})
    command = hook._build_spark_submit_command(task.application)
    assert command[command.index("--properties-file") + 1] == str(properties)
    assert "not-on-the-command-line" not in " ".join(command)
    monkeypatch.delenv("RECSYS_SPARK_PROPERTIES_FILE")  # unset: spark-submit reads spark-defaults.conf as ever
    assert load_dag().get_task("train_als").properties_file is None


def test_the_input_check_measures_the_days_events_counting_gzip_as_the_csv_it_holds(tmp_path):
    import gzip

    from recsys_pipeline.raw_input import GZIP_RATIO, raw_megabytes

    plain = write_raw(tmp_path, "2019-10-01", ["x" * 999_000])
    packed = tmp_path / "2019-10-01" / "more.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    expected = (plain.stat().st_size + packed.stat().st_size * GZIP_RATIO) / 1e6
    assert raw_megabytes(str(tmp_path), [str(plain), str(packed)]) == expected
    assert raw_megabytes(str(tmp_path), [str(plain)]) == plain.stat().st_size / 1e6 == 0.999093  # with the header
