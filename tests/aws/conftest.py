"""The `deployed` fixture: the local stage under a random suffix, on AWS or a local cloud.

One deploy per module, destroyed whatever happens: after the last test, and also when the
deploy itself fails half-way (then the deploy's error carries the leftovers as a note).
Leftovers after the destroy fail the run loudly, with what is left and how to remove it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from stacks.config import stage_config
from tests.aws.cloud import Deployment, NoAwsCredentials, choose_cloud


def _loud(deployment: Deployment, leftovers: list[str]) -> str:
    lines = "\n".join(f"  - {entry}" for entry in leftovers)
    return (
        f"LEFTOVERS after destroying {deployment.config.stack_prefix} on "
        f"{deployment.cloud.where}:\n{lines}\n{deployment.cleanup_hint()}"
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The suffixed local stage, deployed once for the module with the CDK CLI."""
    with ExitStack() as stack:
        clouds = choose_cloud(
            tmp_path_factory.mktemp("aws-tests-cloud"), stage_config("local").region
        )
        try:
            cloud = stack.enter_context(clouds)
        except NoAwsCredentials as error:
            # Asked for AWS: never fall back to the local cloud silently. One line, no trace.
            raise pytest.fail.Exception(str(error), pytrace=False) from None
        deployment = Deployment(cloud, tmp_path_factory.mktemp("aws-tests-deploy"))
        try:
            deployment.deploy()
            yield deployment
        except BaseException as error:
            # The deploy failed (or the session was torn down early): destroy all the same.
            leftovers = deployment.destroy()
            if leftovers:
                error.add_note(_loud(deployment, leftovers))
            raise
        leftovers = deployment.destroy()
        if leftovers:
            pytest.fail(_loud(deployment, leftovers), pytrace=False)
