"""The architecture as the import graph sees it (grimp, the library under import-linter).

`make lint` checks the contracts declared in pyproject.toml; these tests say the two facts a
newcomer needs first, on the real graph: the audio node reaches into the server only through
the shared wire contract, and no module of the project is part of an import circle.
"""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("edge_server", "edge_audio", "kiosk", "bench")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_edge_audio_imports_the_server_only_through_the_wire_contract(
    graph: grimp.ImportGraph,
) -> None:
    reached = {
        imported
        for module in graph.find_descendants("edge_audio") | {"edge_audio"}
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.split(".")[0] == "edge_server"
    }
    assert reached, "edge_audio uses the shared wire contract"
    assert {m.rsplit(".", 1)[0] for m in reached} == {"edge_server.contract"}, sorted(reached)


def test_the_wire_contract_imports_nothing_else_of_the_server(graph: grimp.ImportGraph) -> None:
    for module in graph.find_descendants("edge_server.contract"):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("edge_server"):
                assert imported.startswith("edge_server.contract."), (module, imported)


def test_no_module_is_part_of_an_import_circle(graph: grimp.ImportGraph) -> None:
    circles = []
    for package in PACKAGES:
        for module in sorted(graph.find_descendants(package) | {package}):
            for imported in graph.find_modules_directly_imported_by(module):
                if graph.find_shortest_chain(imported, module) is not None:
                    circles.append((module, imported))
    assert circles == []
