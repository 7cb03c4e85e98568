"""Generated demo data: believable experiments, pipelines and runs in every profile."""

from __future__ import annotations

from faker import Faker

from emulator.core import Emulator
from emulator.kfp.access import Credentials
from emulator.kfp.models import PipelineSource
from emulator.kfp.pipelines import VersionRequest
from emulator.kfp.runs import RunRequest


def demo_pipeline_spec(name: str) -> str:
    """A minimal, valid KFP v2 IR document with one parameter."""
    return (
        "pipelineInfo:\n"
        f"  name: {name}\n"
        "root:\n"
        "  inputDefinitions:\n"
        "    parameters:\n"
        "      message:\n"
        "        parameterType: STRING\n"
        "schemaVersion: 2.1.0\n"
        "sdkVersion: kfp-isolation-demo\n"
    )


def populate_demo_data(emulator: Emulator, seed: int = 0, experiments_per_profile: int = 2,
                       runs_per_experiment: int = 3) -> int:
    """Create data as each profile's owner would; returns the number of runs created."""
    fake = Faker()
    Faker.seed(seed)
    kfp = emulator.kfp
    created = 0
    with kfp.state.lock:
        for namespace, profile in sorted(emulator.cluster.profiles.items()):
            owner = Credentials(userid_headers=(emulator.config.userid_prefix + profile.owner,))
            slug = fake.unique.slug()[:40]
            pipeline, version = kfp.pipelines.create(
                owner, name=slug, description=fake.sentence(), namespace=namespace,
                version=VersionRequest(name=f"{slug}-v1",
                                       spec_text=demo_pipeline_spec(slug)))
            for _ in range(experiments_per_profile):
                experiment = kfp.experiments.create(owner, fake.unique.catch_phrase()[:60],
                                                    fake.sentence(), namespace)
                for _ in range(runs_per_experiment):
                    source = PipelineSource(pipeline_id=pipeline.id,
                                            pipeline_version_id=version.id if version else "",
                                            runtime_parameters={"message": fake.word()})
                    kfp.runs.create(owner, RunRequest(fake.unique.bs()[:80], experiment.id,
                                                      source))
                    created += 1
    return created
