"""A second listener plugin for the real-stack tests (copied into the stack's plugins folder).

It writes down each hook call it gets (a line per call, in ``FT_TEST_WITNESS_FILE``), called
after flowtrack's listener (``trylast``), as OpenLineage's could be: if flowtrack's listener
raised, pluggy would skip it. It also plants a bug in flowtrack for one DAG
(``FT_TEST_BROKEN_DAG``): flowtrack's ``on_dag_run_running`` work raises there, so the test
sees the scheduler log the failure with the hook's name and go on.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin
from flowtrack_airflow import recorder

_original = recorder.dag_run_running


def _broken(dag_run: Any, settings: Any) -> None:
    if dag_run.dag_id == os.environ.get("FT_TEST_BROKEN_DAG"):
        raise RuntimeError("a bug planted in flowtrack by the test")
    _original(dag_run, settings)


recorder.dag_run_running = _broken  # type: ignore[assignment]


def _note(*words: Any) -> None:
    with open(os.environ["FT_TEST_WITNESS_FILE"], "a") as out:
        out.write(" ".join(str(w) for w in words) + "\n")


class Witness:
    @hookimpl(trylast=True)
    def on_dag_run_running(self, dag_run: Any, msg: str) -> None:
        _note("on_dag_run_running", dag_run.dag_id, os.getpid())

    @hookimpl(trylast=True)
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        _note("on_task_instance_running", task_instance.dag_id, task_instance.task_id, os.getpid())


class WitnessPlugin(AirflowPlugin):
    name = "ft_witness"
    listeners = [Witness()]
