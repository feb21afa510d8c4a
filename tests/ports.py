"""Ports for the servers tests start: one the system has just handed out, so two test
processes (xdist workers, or two checkouts on one machine) never pick the same one."""

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
