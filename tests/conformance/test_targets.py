"""Live targets: the embedded emulator, an emulator over HTTP, and a target file's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.provisioning import Tenant, provision
from conformance.target import TargetError
from conformance.targets import (
    Nobody,
    Person,
    ServiceAccount,
    describe_emulator,
    inprocess,
    open_target,
)
from emulator.core import Emulator
from emulator.modes import Mode
from emulator.serving import EmulatorServer
from emulator.testing import assert_denied, assert_unauthenticated

PEOPLE = {"ann@example.com": "pw-ann", "ben@example.com": "pw-ben"}
TENANTS = [Tenant("ann", "ann@example.com"), Tenant("ben", "ben@example.com")]
LIST_ANN = "/apis/v2beta1/experiments?namespace=ann"


@pytest.mark.parametrize("mode", [Mode.FULL_INSIDE, Mode.FULL_OUTSIDE])
def test_every_caller_kind_through_the_modes_door(mode: Mode) -> None:
    with inprocess(mode, PEOPLE) as connection:
        provision(connection.kube, TENANTS)
        assert connection.session(Person("ann@example.com")).get(LIST_ANN).status_code == 200
        assert_denied(connection.session(Person("ben@example.com")).get(LIST_ANN))
        assert connection.session(ServiceAccount("ann")).get(LIST_ANN).status_code == 200
        assert_denied(connection.session(ServiceAccount("ben")).get(LIST_ANN))
        anonymous = connection.session(Nobody()).get(LIST_ANN)
        if mode.access == "inside":
            assert_unauthenticated(anonymous)
        else:  # oauth2-proxy answers before the API server
            assert (anonymous.status_code, anonymous.text) == (401, "{}")


def test_a_person_outside_needs_a_login_user_of_the_target() -> None:
    with inprocess(Mode.FULL_OUTSIDE, PEOPLE) as connection, \
            pytest.raises(TargetError, match=r"no login user carol@example\.com"):
        connection.session(Person("carol@example.com"))


def test_an_emulator_over_http_through_its_target_file(tmp_path: Path) -> None:
    emulator = Emulator(profiles=[], login_users=PEOPLE)
    with EmulatorServer(emulator) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        target_file = describe_emulator(server, kubeconfig).dump(tmp_path / "target.yaml")
        with open_target("url", target_file) as connection:
            provision(connection.kube, TENANTS)
            ok = connection.session(Person("ann@example.com"), outside=True).get(LIST_ANN)
            assert ok.status_code == 200, ok.text
            assert_denied(connection.session(ServiceAccount("ben"), outside=False)
                          .get(LIST_ANN))


def test_target_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="target kind must be one of"), open_target("moon"):
        pass
    with pytest.raises(TargetError, match="needs a target file"), open_target("cluster"):
        pass
    plain = tmp_path / "cluster.yaml"
    plain.write_text("apiVersion: kfp-isolation/v1\nkind: Target\nmode: full-inside\n"
                     "kfp: {direct: 'http://127.0.0.1:1'}\n")
    with pytest.raises(TargetError, match="describes no emulator"), open_target("url", plain):
        pass
    with pytest.raises(TargetError, match="names no kubeconfig"), open_target("cluster", plain):
        pass
