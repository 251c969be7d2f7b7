"""The test suite. Its folders mirror the code (edge_server/, edge_audio/); web/ drives the
pages in Chromium, faults/ is the fault-injection suite, appliance/ the Debian appliance, bench/
the benchmark's smoke test; helpers/ holds shared helpers and fakes/ the local cloud fakes.
"""
