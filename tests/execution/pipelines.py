"""Real KFP v2 pipelines for the execution tests, compiled by kfp 2.17.3 and kfp-kubernetes.

No ``from __future__ import annotations``: kfp's component decorator reads the annotations as
live types.
"""

from kfp import dsl, kubernetes
from kfp.dsl import Dataset, Input, Metrics, Model, Output

SECRET = "db-creds"
SECRET_KEY = "password"
SECRET_ENV = "DB_PASSWORD"
CONFIG_MAP = "settings"


@dsl.component(base_image="python:3.11")
def prepare(rows: int, data: Output[Dataset], metrics: Output[Metrics]) -> int:
    return rows


@dsl.component(base_image="python:3.11")
def train(data: Input[Dataset], epochs: int, model: Output[Model]) -> float:
    return 0.5


@dsl.component(base_image="python:3.11")
def report(note: str) -> str:
    return note


@dsl.pipeline(name="two-step", description="prepare data, then train on it")
def two_step(rows: int = 10) -> None:
    prepared = prepare(rows=rows)
    train(data=prepared.outputs["data"], epochs=prepared.outputs["Output"])


@dsl.pipeline(name="with-secret")
def with_secret(note: str = "hi") -> None:
    task = report(note=note)
    kubernetes.use_secret_as_env(task, secret_name=SECRET,
                                 secret_key_to_env={SECRET_KEY: SECRET_ENV})


@dsl.pipeline(name="with-secret-volume")
def with_secret_volume(note: str = "hi") -> None:
    task = report(note=note)
    kubernetes.use_secret_as_volume(task, secret_name=SECRET, mount_path="/mnt/creds")


@dsl.pipeline(name="with-optional-secret")
def with_optional_secret(note: str = "hi") -> None:
    task = report(note=note)
    kubernetes.use_secret_as_env(task, secret_name=SECRET,
                                 secret_key_to_env={SECRET_KEY: SECRET_ENV}, optional=True)


@dsl.pipeline(name="with-config-map")
def with_config_map(note: str = "hi") -> None:
    task = report(note=note)
    kubernetes.use_config_map_as_env(task, config_map_name=CONFIG_MAP,
                                     config_map_key_to_env={"level": "LEVEL"})
    kubernetes.use_config_map_as_volume(task, config_map_name=CONFIG_MAP,
                                        mount_path="/etc/settings")


@dsl.pipeline(name="nested")
def nested(rows: int = 3) -> None:
    inner = two_step(rows=rows)
    report(note="after").after(inner)
