"""The jar, the conf lines and their checks, without starting Spark."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowtrack.cli.main import cli
from flowtrack_spark import jar, settings
from flowtrack_spark.cli import spark


def test_jar_is_cached_per_spark_version_and_source(listener_jar: Path) -> None:
    assert listener_jar.name == f"flowtrack-spark-listener-4.3.0-{jar.source_hash()}.jar"
    names = zipfile.ZipFile(listener_jar).namelist()
    assert "dev/flowtrack/spark/FlowtrackListener.class" in names
    assert "dev/flowtrack/spark/FlowtrackQueryListener.class" in names
    before = listener_jar.stat().st_mtime_ns
    result = CliRunner().invoke(spark, ["jar"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(listener_jar)
    assert listener_jar.stat().st_mtime_ns == before  # cached: not compiled again


def test_no_jdk_is_a_clear_error_and_configure_leaves_spark_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyspark.sql import SparkSession

    monkeypatch.setenv("FLOWTRACK_SPARK_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no javac anywhere
    result = CliRunner().invoke(spark, ["jar"])
    assert result.exit_code == 1
    assert "no JDK found" in result.output and "javac" in result.output

    builder = settings.configure(SparkSession.builder.appName("no-jdk"))
    options = builder._options
    assert "spark.extraListeners" not in options
    assert "spark.jars" not in options
    assert os.environ["PATH"] == str(tmp_path)


def test_conf_and_install_conf(listener_jar: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["spark", "conf", "--experiment", "etl"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(" ", 1) for line in result.output.splitlines())
    assert lines["spark.jars"] == str(listener_jar)
    assert lines["spark.extraListeners"] == jar.LISTENER
    assert lines["spark.sql.queryExecutionListeners"] == jar.QUERY_LISTENER
    assert lines["spark.flowtrack.experiment"] == "etl"

    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "spark-defaults.conf").write_text(
        "spark.driver.memory 2g\nspark.flowtrack.experiment old\n"
    )
    result = CliRunner().invoke(
        spark, ["install-conf", "-e", "etl"], env={"SPARK_CONF_DIR": str(conf_dir)}
    )
    assert result.exit_code == 0, result.output
    assert str(conf_dir / "spark-defaults.conf") in result.output
    text = (conf_dir / "spark-defaults.conf").read_text()
    assert "spark.driver.memory 2g" in text
    assert "spark.flowtrack.experiment old" not in text
    assert f"spark.extraListeners {jar.LISTENER}" in text

    result = CliRunner().invoke(spark, ["install-conf"], env={"SPARK_CONF_DIR": None})
    assert result.exit_code == 1 and "SPARK_CONF_DIR" in result.output


def test_configure_keeps_the_users_jars_and_listeners(listener_jar: Path) -> None:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.config("spark.jars", "/opt/their.jar")
    builder = builder.config("spark.extraListeners", "com.example.TheirListener")
    options = settings.configure(builder, experiment="etl")._options
    assert options["spark.jars"] == f"/opt/their.jar,{listener_jar}"
    assert options["spark.extraListeners"] == f"com.example.TheirListener,{jar.LISTENER}"
    assert options["spark.sql.queryExecutionListeners"] == jar.QUERY_LISTENER
    assert options["spark.flowtrack.experiment"] == "etl"


def test_bad_tracking_uri_and_unknown_key_are_named() -> None:
    result = CliRunner().invoke(spark, ["conf", "--tracking-uri", "bogus://somewhere"])
    assert result.exit_code == 1
    assert "spark.flowtrack.trackingUri" in result.output and "bogus://somewhere" in result.output
    (warning,) = settings.check_keys({"spark.flowtrack.experimnt": "x", "spark.master": "y"})
    assert "spark.flowtrack.experimnt" in warning and "spark.flowtrack.experiment" in warning
