"""Helpers of tests/test_appliance.py: Debian root file systems, Ansible runs, unit files."""
