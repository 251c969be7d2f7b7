"""Pure helpers: read unit files, Ansible's play recap, systemd-analyze's security verdict."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass


def unit_values(text: str, section: str, key: str) -> list[str]:
    """Every value of ``key`` in ``[section]`` of a unit file, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    values: list[str] = []
    current = None
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        name, sep, value = line.partition("=")
        if sep and current == section and name.strip() == key:
            values.append(value.strip())
    return values


def exec_start_argv(text: str) -> list[str]:
    """The words of the (single) ``ExecStart=`` of a unit file, as systemd splits them."""
    values = unit_values(text, "Service", "ExecStart")
    if len(values) != 1:
        raise ValueError(f"expected one ExecStart=, found {len(values)}")
    return shlex.split(values[0].lstrip("-@:+!"))


@dataclass(frozen=True)
class HostRecap:
    """One host's line of Ansible's PLAY RECAP."""

    ok: int
    changed: int
    unreachable: int
    failed: int


_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def parse_recap(output: str) -> dict[str, HostRecap]:
    """The hosts of the last PLAY RECAP in ``ansible-playbook``'s output."""
    start = output.rfind("PLAY RECAP")
    if start < 0:
        return {}
    return {
        m["host"]: HostRecap(
            int(m["ok"]), int(m["changed"]), int(m["unreachable"]), int(m["failed"])
        )
        for m in _RECAP.finditer(output[start:])
    }


_EXPOSURE = re.compile(
    r"Overall exposure level for (?P<unit>\S+): (?P<score>[\d.]+) (?P<level>[A-Z]+)"
)


def parse_exposure(output: str) -> tuple[float, str]:
    """``(score, level)`` from ``systemd-analyze security``'s output, e.g. ``(1.1, "OK")``."""
    match = _EXPOSURE.search(output)
    if match is None:
        raise ValueError(f"no exposure verdict in: {output[-300:]!r}")
    return float(match["score"]), match["level"]
