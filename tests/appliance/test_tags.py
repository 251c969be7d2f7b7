"""Tagged re-runs and the playbook's secrets rules, on a converged Debian 13 root.

Fast tests (always): every ``--tags`` form the docs name is found (the docs are the list of
forms to test), and site.yml's copies of the example tokens and of the server's minimum token
length agree with the example vault and ``edge_server/core/auth.py``.

``appliance`` tests (root and debootstrap needed; skipped, saying so, without them): an audio
node and a display node converged once into fresh Debian 13 roots (as in test_appliance.py),
then, on those same roots:

- each ``--tags`` form the docs name, with ``--check --diff`` and then for real: it succeeds,
  changes nothing on a converged node, runs the tasks of its tag, and leaves no literal
  placeholder (``UID``, ``{{``, ``None``, a ``user@.service``, an empty value) in any file the
  roles write;
- the example inventory's published tokens and a token shorter than the server accepts are
  refused before anything changes, with a message naming the variable;
- rotating every token (``--tags configure --check --diff``, which covers every file either
  role writes, then ``--tags secrets`` there and back) never prints a token, old or new, and
  puts the new ones in place.

Run durations are printed and appended to ``.cache/appliance/report.txt``; the runs' logs are in
``.cache/appliance/logs-tags/``.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from edge_server.core.auth import MAX_PRESENTED_LENGTH, MIN_TOKEN_LENGTH
from tests.appliance.converged import EXAMPLE_REDIS_PASSWORD, Conference
from tests.appliance.rootfs import RootFs
from tests.appliance.test_appliance import (
    ANSIBLE_DIR,
    APPLIANCE_TIMEOUT_S,
    AUDIO_HOST,
    DISPLAY_HOST,
    EXAMPLE_INVENTORY,
    HUB_HOST,
    VAULT_PASSWORD,
    VENV_BIN,
    Run,
    _tool_env,
    report,
)
from tests.helpers.paths import ROOT

DOCUMENTED_IN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TAGS_OPTION = re.compile(r"--tags[ =]([A-Za-z0-9_][A-Za-z0-9_,-]*)")
# docs/deploy.md's tag list: each must stay documented (and so tested below).
REQUIRED_FORMS = {
    "common",
    "audio_node",
    "display_node",
    "hub",
    "install",
    "software",
    "configure",
    "service",
    "secrets",
}
TOKEN_VARIABLES = [
    "edge_server_audio_token",
    "edge_server_listener_token",
    "edge_server_admin_token",
]


def documented_tag_forms() -> list[str]:
    """Every ``--tags X`` written in README.md and docs/*.md, once each."""
    forms: set[str] = set()
    for path in DOCUMENTED_IN:
        forms.update(TAGS_OPTION.findall(path.read_text()))
    return sorted(forms)


# --- what a tagged run must run, and what it must never leave behind --------------------------

# A task each form must run (its header is printed even when the task is skipped).
TASK_OF_TAG = {
    "common": "TASK [common : Enable mDNS",
    "audio_node": "TASK [audio_node : Install the capture unit]",
    "display_node": "TASK [display_node : ",
    "hub": "TASK [hub : Write Redis's configuration",
    "install": "TASK [edge_software : Install the project's wheel",
    "software": "TASK [edge_software : Install the project's wheel",
    "configure": "TASK [audio_node : Point the capture unit at the capture user's PipeWire]",
    "service": "TASK [audio_node : Enable edge-audio",
    "secrets": "TASK [audio_node : Write the server's tokens",
}

# Files the roles write, relative to a node's root (globs).
MANAGED_FILES = [
    "etc/hostname",
    "etc/timezone",
    "etc/systemd/*.conf.d/50-edge*.conf",
    "etc/ssh/sshd_config.d/50-edge.conf",
    "etc/udev/rules.d/70-edge-*.rules",
    "etc/edge-audio/*",
    "etc/edge-server/*",
    "etc/edge-server/credentials/*",
    "etc/edge-kiosk/**/*",
    "etc/pam.d/edge-kiosk",
    "etc/systemd/system/edge-*.service",
    "etc/systemd/system/edge-*.service.d/*",
    "etc/edge-hub/**/*",
    "etc/redis/redis.conf",
    "etc/redis/edge-hub-auth.conf",
    "var/lib/systemd/linger/*",
]
PLACEHOLDER = re.compile(r"\bUID\b|\{\{|\{%|\}\}|\bNone\b|@\.service|/run/user/(?:\s|$)")
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$")
EMPTY_ON_PURPOSE = {"CapabilityBoundingSet", "AmbientCapabilities"}
"""Unit settings that are empty by design (no capabilities at all)."""


def placeholders(text: str) -> list[str]:
    """Lines of a written file (comments aside) that hold a template's leftover: a literal
    placeholder, an unrendered expression, ``None``, or a setting with an empty value."""
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assignment = ASSIGNMENT.match(line)
        empty = (
            assignment is not None
            and assignment[2].strip() == ""
            and assignment[1] not in EMPTY_ON_PURPOSE
        )
        if empty or PLACEHOLDER.search(line):
            found.append(line)
    return found


def test_placeholder_detection() -> None:
    assert placeholders("# user@UID.service\nWants=user@998.service\nA=1\n") == []
    assert placeholders("After=user@UID.service\n") == ["After=user@UID.service"]
    assert placeholders("Wants=user@.service\nX=/run/user/\n") == [
        "Wants=user@.service",
        "X=/run/user/",
    ]
    assert placeholders("EDGE_AUDIO_DEVICE=None\nroom = {{ r }}\nEDGE_AUDIO_TOKEN=\n") == [
        "EDGE_AUDIO_DEVICE=None",
        "room = {{ r }}",
        "EDGE_AUDIO_TOKEN=",
    ]
    assert placeholders("CapabilityBoundingSet=\nPasswordAuthentication no\n") == []


def written_files(root: Path) -> list[Path]:
    """The files the roles manage on a node, that exist there."""
    found = {p for pattern in MANAGED_FILES for p in root.glob(pattern) if p.is_file()}
    return sorted(found)


def leftovers(root: Path) -> dict[str, list[str]]:
    """Placeholder lines per written file of ``root`` (empty: none)."""
    found = {}
    for path in written_files(root):
        lines = placeholders(path.read_text(errors="replace"))
        if lines:
            found[str(path.relative_to(root))] = lines
    return found


# --- fast checks of the documentation and of site.yml's copies -------------------------------


def test_docs_name_every_tag_form() -> None:
    forms = documented_tag_forms()
    missing = REQUIRED_FORMS - set(forms)
    assert not missing, f"docs no longer show --tags {sorted(missing)} (docs/deploy.md tag list)"
    unknown = {tag for form in forms for tag in form.split(",")} - set(TASK_OF_TAG)
    assert not unknown, f"documented tags {sorted(unknown)}: add a task each runs to TASK_OF_TAG"


def test_site_knows_the_example_tokens_and_the_servers_token_length() -> None:
    done = subprocess.run(
        [
            str(VENV_BIN / "ansible-vault"),
            "view",
            "--vault-password-file",
            str(VAULT_PASSWORD),
            str(EXAMPLE_INVENTORY / "group_vars" / "all" / "vault.yml"),
        ],
        env=_tool_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    vault = yaml.safe_load(done.stdout)
    (first_play, *_) = yaml.safe_load((ANSIBLE_DIR / "site.yml").read_text())
    play_vars = first_play["vars"]
    assert play_vars["edge_token_names"] == TOKEN_VARIABLES
    assert sorted(play_vars["edge_example_secrets"]) == sorted(vault[n] for n in TOKEN_VARIABLES)
    assert play_vars["edge_example_hub_redis_password"] == vault["edge_hub_redis_password"]
    assert vault["edge_hub_redis_password"] == EXAMPLE_REDIS_PASSWORD
    assert play_vars["edge_token_min_length"] == MIN_TOKEN_LENGTH
    assert play_vars["edge_token_max_length"] == MAX_PRESENTED_LENGTH


# --- one converged pair of roots for every tagged run -----------------------------------------


@dataclass
class Converged:
    """The session's converged conference (tests/appliance/converged.py: an audio node, a
    display node and a hub, converged with pipelining) and the runs made on it here."""

    conference: Conference
    runs: list[Run] = field(default_factory=list)

    @property
    def audio(self) -> RootFs:
        return self.conference.audio

    @property
    def display(self) -> RootFs:
        return self.conference.display

    @property
    def hub(self) -> RootFs:
        return self.conference.hub

    def run(self, name: str, *extra: str, expect_success: bool = True) -> Run:
        """site.yml on every node, with the software the converge installed."""
        run = self.conference.run(name, *extra, expect_success=expect_success)
        self.runs.append(run)
        return run


@pytest.fixture(scope="module")
def converged(conference: Conference, pytestconfig: pytest.Config) -> Iterator[Converged]:
    """The three nodes converged once (the full playbook) in fresh Debian 13 roots."""
    result = Converged(conference)
    started = time.monotonic()
    try:
        yield result
    finally:
        lines = [f"tags: {run.name} run {run.seconds} s" for run in result.runs]
        lines.append(f"tags: total {time.monotonic() - started:.1f} s")
        report(pytestconfig, "\n".join(lines))


def _changed(run: Run) -> dict[str, tuple[int, int]]:
    return {host: (r.changed, r.failed) for host, r in run.recap.items()}


ALL_UNCHANGED = {AUDIO_HOST: (0, 0), DISPLAY_HOST: (0, 0), HUB_HOST: (0, 0)}


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_converged_nodes_have_no_placeholders(converged: Converged) -> None:
    for root in (converged.audio, converged.display, converged.hub):
        assert written_files(root.path), f"nothing found to check in {root.path}"
        assert leftovers(root.path) == {}


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
@pytest.mark.parametrize("form", documented_tag_forms())
def test_documented_tag_form_on_a_converged_node(converged: Converged, form: str) -> None:
    check = converged.run(f"tags-{form}-check", "--tags", form, "--check", "--diff")
    assert _changed(check) == ALL_UNCHANGED, f"see {check.log}"
    for tag in form.split(","):
        assert TASK_OF_TAG[tag] in check.output, f"--tags {form} skipped {TASK_OF_TAG[tag]!r}"
    real = converged.run(f"tags-{form}", "--tags", form)
    assert _changed(real) == ALL_UNCHANGED, f"see {real.log}"
    for root in (converged.audio, converged.display, converged.hub):
        assert leftovers(root.path) == {}, f"--tags {form}"


def _credentials(root: RootFs) -> dict[str, str]:
    folder = root.path / "etc/edge-server/credentials"
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_example_tokens_are_refused_naming_the_variable(converged: Converged) -> None:
    before = _credentials(converged.audio)
    run = converged.run(
        "refuse-example", "--tags", "secrets", "-e", "edge_allow_example_secrets=false",
        expect_success=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert {h: r.failed for h, r in run.recap.items()} == {
        AUDIO_HOST: 1,
        DISPLAY_HOST: 1,
        HUB_HOST: 1,
    }
    for name in TOKEN_VARIABLES:
        assert f"{name} is the example inventory's published value" in run.output
    assert "example-audio-token-change-me" not in run.output
    assert _credentials(converged.audio) == before


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_short_token_is_refused_naming_the_variable(converged: Converged) -> None:
    before = _credentials(converged.audio)
    short = "x" * (MIN_TOKEN_LENGTH - 1)
    run = converged.run(
        "refuse-short", "--tags", "secrets", "-e", f"edge_server_admin_token={short}",
        expect_success=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert f"edge_server_admin_token has {len(short)} characters" in run.output
    assert f"tokens of {MIN_TOKEN_LENGTH} to" in run.output
    assert short not in run.output
    assert _credentials(converged.audio) == before


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_a_token_shared_by_two_roles_is_refused(converged: Converged) -> None:
    before = _credentials(converged.audio)
    shared = before["listener-token"]
    run = converged.run(
        "refuse-shared", "--tags", "secrets", "-e", f"edge_server_admin_token={shared}",
        expect_success=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert run.recap[AUDIO_HOST].failed == 1
    assert "audio_node_listener_token and audio_node_admin_token must differ" in run.output
    assert shared not in run.output
    assert _credentials(converged.audio) == before


def _redis_auth(root: RootFs) -> str:
    return (root.path / "etc/redis/edge-hub-auth.conf").read_text()


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_example_or_short_redis_password_is_refused_naming_the_variable(
    converged: Converged, tmp_path: Path
) -> None:
    before = _redis_auth(converged.hub), _credentials(converged.audio)
    # Tokens of its own, so that only the Redis password is the example inventory's.
    own = tmp_path / "own.yml"
    own.write_text(yaml.safe_dump({n: secrets.token_urlsafe(24) for n in TOKEN_VARIABLES}))
    example = converged.run(
        "refuse-example-redis", "--tags", "secrets", "-e", "edge_allow_example_secrets=false",
        "-e", f"@{own}", expect_success=False,
    )  # fmt: skip
    short = "y" * 15
    too_short = converged.run(
        "refuse-short-redis", "--tags", "secrets", "-e", f"edge_hub_redis_password={short}",
        expect_success=False,
    )  # fmt: skip
    for run in (example, too_short):
        assert run.returncode != 0
        assert {h: r.failed for h, r in run.recap.items()} == dict.fromkeys(
            (AUDIO_HOST, DISPLAY_HOST, HUB_HOST), 1
        ), run.log
        assert "so edge_hub_redis_password must be in" in run.output
        assert EXAMPLE_REDIS_PASSWORD not in run.output
    assert "it has 15 characters now" in too_short.output
    assert short not in too_short.output
    assert (_redis_auth(converged.hub), _credentials(converged.audio)) == before


def tasks_printing(output: str, values: list[str]) -> list[str]:
    """The task headers (``TASK [role : name]``) under which any of ``values`` is printed."""
    found: list[str] = []
    task = "(before any task)"
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line.split("]", 1)[0] + "]"
        if any(value in line for value in values) and task not in found:
            found.append(task)
    return found


def test_tasks_printing_names_the_task_not_the_value() -> None:
    output = "TASK [a : x] ***\nok\nTASK [b : y] ***\n+URL=...&token=s3cret\n-token=old\n"
    assert tasks_printing(output, ["s3cret", "old"]) == ["TASK [b : y]"]
    assert tasks_printing(output, ["absent"]) == []


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_token_rotation_never_prints_a_token(converged: Converged, tmp_path: Path) -> None:
    old = _credentials(converged.audio)
    new = {name: secrets.token_urlsafe(24) for name in TOKEN_VARIABLES}
    rotated = tmp_path / "rotated.yml"
    rotated.write_text(yaml.safe_dump(new))
    every_token = [*new.values(), *(v for k, v in old.items() if k.endswith("-token"))]

    # `configure` holds every task that writes a file of either role, secrets included: its
    # --check --diff shows each file a new token changes, on both Pis.
    check = converged.run("rotate-check", "--tags", "configure", "--check", "--diff",
                          "-e", f"@{rotated}")  # fmt: skip
    assert check.recap[AUDIO_HOST].changed > 0, "the check must see the new tokens"
    real = converged.run("rotate", "--tags", "secrets", "-e", f"@{rotated}")
    assert real.recap[AUDIO_HOST].changed > 0
    assert _credentials(converged.audio) == {
        **old,
        "audio-token": new["edge_server_audio_token"],
        "listener-token": new["edge_server_listener_token"],
        "admin-token": new["edge_server_admin_token"],
    }
    secrets_env = (converged.audio.path / "etc/edge-audio/secrets.env").read_text()
    assert f"EDGE_AUDIO_TOKEN={new['edge_server_audio_token']}\n" in secrets_env
    back = converged.run("rotate-back", "--tags", "secrets")
    for run in (check, real, back):
        assert tasks_printing(run.output, every_token) == [], (
            f"a token is printed by {run.name} ({run.log}) under these tasks"
        )
    assert _credentials(converged.audio) == old
