"""What the bundle build keeps between builds: the ``.deb`` files a package set needs, read
from ``apt-get --print-uris`` (a table of apt's output), and linked from the cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scripts.offline_bundle.build import APT_HASHES, all_present, debs_to_fetch, link_or_copy

PRINT_URIS = """\
Reading package lists...
Building dependency tree...
The following NEW packages will be installed:
  libasound2-data sox
0 upgraded, 2 newly installed, 0 to remove and 0 not upgraded.
Need to get 6846 kB of archives.
'http://deb.example/debian/pool/main/s/sox/sox_14.4.2%2bgit20190427-5_arm64.deb' \
sox_14.4.2+git20190427-5_arm64.deb 37596 SHA256:8e7e74
'http://deb.example/debian/pool/main/a/alsa-lib/libasound2-data_1.2.14-1_all.deb' \
libasound2-data_1.2.14-1_all.deb 20488 SHA256:8cdd32
'http://deb.example/debian/pool/main/p/python-apt/python3-apt_3.0.0_arm64.deb' \
python3-apt_1%3a3.0.0_arm64.deb 170000 SHA256:0a0b0c
"""


def test_every_deb_apt_would_fetch_is_named_sorted() -> None:
    assert debs_to_fetch(PRINT_URIS) == [
        "libasound2-data_1.2.14-1_all.deb",
        "python3-apt_1%3a3.0.0_arm64.deb",
        "sox_14.4.2+git20190427-5_arm64.deb",
    ]


@pytest.mark.parametrize(
    "output",
    ["", "Reading package lists...\n0 upgraded, 0 newly installed\n", "E: Unable to locate"],
)
def test_no_package_listed_is_an_error_not_an_empty_bundle(output: str) -> None:
    with pytest.raises(RuntimeError, match="listed no package to download"):
        debs_to_fetch(output)


def test_a_cached_deb_is_linked_into_the_stage_and_a_missing_one_named(tmp_path: Path) -> None:
    cache, stage = tmp_path / "cache", tmp_path / "stage"
    cache.mkdir()
    stage.mkdir()
    (cache / "sox_1_arm64.deb").write_bytes(b"deb")
    link_or_copy(cache / "sox_1_arm64.deb", stage / "sox_1_arm64.deb")
    assert (stage / "sox_1_arm64.deb").read_bytes() == b"deb"
    assert (stage / "sox_1_arm64.deb").stat().st_ino == (cache / "sox_1_arm64.deb").stat().st_ino
    with pytest.raises(RuntimeError, match=r"did not download gone_1_arm64\.deb"):
        link_or_copy(cache / "gone_1_arm64.deb", stage / "gone_1_arm64.deb")
    assert not (stage / "gone_1_arm64.deb").exists()


def _uri_line(name: str, data: bytes, kind: str = "MD5Sum") -> str:
    digest = hashlib.new(APT_HASHES[kind], data).hexdigest() if kind in APT_HASHES else "00"
    return f"'http://deb.example/debian/pool/{name}' {name} {len(data)} {kind}:{digest}\n"


@pytest.mark.parametrize(
    ("on_disk", "kind", "present"),
    [
        (b"deb", "MD5Sum", True),
        (b"deb", "SHA256", True),
        (b"bad", "MD5Sum", False),  # same size, other bytes: fetched again
        (b"debx", "MD5Sum", False),  # another size
        (None, "MD5Sum", False),  # not downloaded yet
        (b"deb", "Checksum-FileSize", False),  # a hash this build cannot check
    ],
)
def test_a_cached_deb_counts_only_with_the_indexed_size_and_hash(
    tmp_path: Path, on_disk: bytes | None, kind: str, present: bool
) -> None:
    (tmp_path / "lib_1_all.deb").write_bytes(b"lib")
    if on_disk is not None:
        (tmp_path / "sox_1_arm64.deb").write_bytes(on_disk)
    uris = "Need to get 6 B of archives.\n" + _uri_line("lib_1_all.deb", b"lib")
    uris += _uri_line("sox_1_arm64.deb", b"deb", kind)
    assert all_present(uris, tmp_path) is present
