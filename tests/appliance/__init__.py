"""Helpers of tests/appliance/test_appliance.py: Debian root file systems, Ansible runs, unit
files."""
