"""The unit suite's own guard rails: no network and no AWS clients (see conftest)."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError

from nps.kernel import aws


@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket:UserWarning")
def test_sockets_are_blocked_in_unit_tests() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_aws_clients_cannot_be_created_in_unit_tests() -> None:
    with pytest.raises(AssertionError, match="must not create AWS clients"):
        aws.client("dynamodb")
    with pytest.raises(AssertionError, match="must not create AWS clients"):
        aws.send_client("ses")
