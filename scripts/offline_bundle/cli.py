"""``python -m scripts.offline_bundle``: ``build`` (make bundle) and ``check`` (the playbook's
preflight).

``check`` prints one JSON object: ``problems`` (empty when the bundle fits the node), ``id``
(names the bundle's contents), and, with ``--extract``, where the project's wheel and
requirements were put for the playbook. It exits 0 whatever it found (the playbook decides and
says why), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from pathlib import Path

from scripts.offline_bundle.build import BuildOptions, build, extract_members, open_bundle
from scripts.offline_bundle.manifest import REQUIREMENTS, ManifestError, Target, check_bundle


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.offline_bundle", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="build a bundle (needs the internet here)")
    make.add_argument("--out", type=Path, default=Path("dist"), help="output folder (dist)")
    make.add_argument("--arch", default="arm64", help="Debian architecture (arm64)")
    make.add_argument("--suite", default="trixie", help="Debian release (trixie)")
    make.add_argument(
        "--python",
        action="append",
        dest="pythons",
        help="a Python (major.minor) to carry wheels for; repeat (default 3.13 and 3.11)",
    )
    make.add_argument("--mirror", default="http://deb.debian.org/debian", help="Debian mirror")
    make.add_argument(
        "--extra-deb", action="append", default=[], help="one more Debian package; repeat"
    )
    make.add_argument("--work", type=Path, help="keep downloads here between builds")
    check = commands.add_parser("check", help="check a bundle against a node (preflight)")
    check.add_argument("archive", type=Path)
    check.add_argument("--machine", required=True, help="uname -m of the node (aarch64)")
    check.add_argument("--python", required=True, help="the node's python3 (3.13)")
    check.add_argument("--suite", required=True, help="the node's Debian release (trixie)")
    check.add_argument(
        "--extract", type=Path, help="put the project's wheel and requirements under this folder"
    )
    return parser


def check(args: argparse.Namespace) -> dict[str, object]:
    """The ``check`` command's answer."""
    target = Target(machine=args.machine, python=args.python, suite=args.suite)
    try:
        opened = open_bundle(args.archive)
    except (ValueError, ManifestError) as exc:
        return {"problems": [str(exc)], "id": ""}
    problems = check_bundle(opened.manifest, opened.requirements_text, opened.present, target)
    bundle_id = hashlib.sha256(opened.manifest_text.encode()).hexdigest()[:16]
    answer: dict[str, object] = {
        "problems": problems,
        "id": bundle_id,
        "version": opened.manifest.version,
        "machine": opened.manifest.machine,
        "pythons": list(opened.manifest.pythons),
        "suite": opened.manifest.suite,
    }
    if args.extract is not None and not problems:
        into = args.extract / bundle_id
        extract_members(args.archive, [opened.manifest.project_wheel, REQUIREMENTS], into)
        answer["wheel"] = str((into / Path(opened.manifest.project_wheel).name).resolve())
        answer["requirements"] = str((into / REQUIREMENTS).resolve())
    return answer


def main(argv: list[str] | None = None) -> int:
    """Run a command; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "build":
        options = BuildOptions(
            out=args.out,
            arch=args.arch,
            suite=args.suite,
            pythons=tuple(args.pythons or ("3.13", "3.11")),
            mirror=args.mirror,
            extra_debs=tuple(args.extra_deb),
            work=args.work,
        )
        archive = build(options)
        print(archive)
        return 0
    print(json.dumps(check(args)))
    return 0
