"""One local SparkSession for the whole test session (``local[2]``, two shuffle partitions).

On the test data a Spark query is almost all fixed cost (JVM warm-up, Catalyst planning, task
scheduling, code generation), not scanning, so the settings below cut that cost: no UI, no adaptive
re-planning, two shuffle partitions, and a JVM with the C1 compiler only and the serial collector
(the CPU of the test slice fell by about a third with these two flags alone, measured on this
2-core machine). The tests themselves open each dataset once per module and submit independent
queries together from threads (``test_spark.concurrently``).

Every test here is marked ``spark`` and skipped, with the reason, when PySpark or a Java runtime is
missing (``pip install -e ".[spark]"``; Java 17).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SPARK_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.sql.adaptive.enabled": "false",  # re-planning between stages only costs on tiny data
    "spark.driver.memory": "1g",
    # a short-lived JVM: the C1 compiler alone and the serial collector cost far less CPU while
    # Catalyst warms up (about a third less per query on tiny data, measured; the plans and
    # results are the same, only the JVM's own compilation and GC differ)
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.warehouse.dir": "",  # set per session below (never in the working directory)
}


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """The shared local SparkSession (stopped at the end of the test session)."""
    from salesinsight.engines.spark import spark_available, spark_session

    reason = spark_available()
    if reason is not None:
        pytest.skip(reason)
    conf = dict(SPARK_CONF)
    conf["spark.sql.warehouse.dir"] = str(tmp_path_factory.mktemp("spark-warehouse"))
    session = spark_session("local[2]", conf)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def engine(spark):
    """A Spark engine on the shared session."""
    from salesinsight.engines.spark import SparkEngine

    return SparkEngine(session=spark)


@pytest.fixture(scope="session")
def sim_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated CRM folder (CSV): 20 seats, 3 quarters, every table."""
    from salesinsight.simulate import crm

    return Path(crm(tmp_path_factory.mktemp("sim") / "data", seed=3, n_reps=20, quarters=3))
