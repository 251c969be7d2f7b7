"""Two network namespaces joined by a veth pair, for partitioning a link for real.

Safety (see the suite's rules): a blackhole route for the subnet is added in the root
namespace FIRST, so nothing of the test can ever leave the machine through the root namespace;
the veth pair is created inside the namespaces (no interface ever appears in the root
namespace); programs run in them only through ``ip netns exec``; :meth:`Netns.close` removes
the namespaces and the route even after a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Sequence


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=10)


def netns_unavailable() -> str | None:
    """Why namespaces cannot be used here, or None."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


class Netns:
    """``server`` and ``node`` namespaces on 10.250.<x>.0/24 (``.1`` and ``.2``)."""

    def __init__(self) -> None:
        tag = os.getpid()
        self.server = f"rcap-srv-{tag}"
        self.node = f"rcap-node-{tag}"
        self.server_if = "veth-srv"
        self.node_if = "veth-node"
        self.subnet = ""
        self.server_ip = ""
        self.node_ip = ""
        self._route = False
        self._made: list[str] = []

    def open(self) -> Netns:
        """Blackhole route first, then the namespaces and the link."""
        for x in [*range(20 + os.getpid() % 200, 250), *range(20, 250)]:
            subnet = f"10.250.{x}.0/24"
            if _ip("route", "add", "blackhole", subnet, check=False).returncode == 0:
                self.subnet, self._route = subnet, True
                self.server_ip, self.node_ip = f"10.250.{x}.1", f"10.250.{x}.2"
                break
        else:
            raise RuntimeError("no free 10.250.x.0/24 subnet for the blackhole route")
        try:
            for name in (self.server, self.node):
                _ip("netns", "add", name)
                self._made.append(name)
            self.run_in(
                self.server,
                "ip",
                "link",
                "add",
                self.server_if,
                "type",
                "veth",
                "peer",
                "name",
                self.node_if,
                "netns",
                self.node,
            )
            for ns, ifname, address in (
                (self.server, self.server_if, self.server_ip),
                (self.node, self.node_if, self.node_ip),
            ):
                self.run_in(ns, "ip", "addr", "add", f"{address}/24", "dev", ifname)
                self.run_in(ns, "ip", "link", "set", "dev", ifname, "up")
                self.run_in(ns, "ip", "link", "set", "dev", "lo", "up")
        except BaseException:
            self.close()
            raise
        return self

    def exec_prefix(self, ns: str) -> list[str]:
        """The prefix that runs a command inside ``ns``."""
        return ["ip", "netns", "exec", ns]

    def run_in(self, ns: str, *command: str) -> str:
        """Run a short command inside ``ns``; its output."""
        done = subprocess.run(
            [*self.exec_prefix(ns), *command], capture_output=True, text=True, timeout=20
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} in {ns}: {done.stderr.strip()}")
        return done.stdout

    def partition(self) -> None:
        """Take the node's end of the link down: nothing passes either way."""
        self.run_in(self.node, "ip", "link", "set", "dev", self.node_if, "down")

    def heal(self) -> None:
        """Bring the link back (addresses and routes return with it)."""
        self.run_in(self.node, "ip", "link", "set", "dev", self.node_if, "up")

    def pids_inside(self) -> list[int]:
        """Processes still running in either namespace."""
        pids: list[int] = []
        for name in self._made:
            done = _ip("netns", "pids", name, check=False)
            pids += [int(p) for p in done.stdout.split()]
        return pids

    def close(self) -> None:
        """Remove the namespaces (and with them the veth pair), then the route."""
        for name in reversed(self._made):
            with contextlib.suppress(subprocess.SubprocessError):
                _ip("netns", "del", name, check=False)
        self._made.clear()
        if self._route:
            with contextlib.suppress(subprocess.SubprocessError):
                _ip("route", "del", "blackhole", self.subnet, check=False)
            self._route = False


def in_namespace(netns: Netns, ns: str, command: Sequence[str]) -> list[str]:
    """``command`` run inside ``ns``."""
    return [*netns.exec_prefix(ns), *command]
