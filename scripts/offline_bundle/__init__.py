"""The offline install bundle: everything a Pi needs that would otherwise come from the internet.

``manifest`` decides (pure: is this bundle right for that Pi, which wheel is missing);
``build`` makes a bundle on the tech lead's machine (``make bundle``); ``cli`` is the command
line the Makefile and the playbook's preflight call (``python -m scripts.offline_bundle``).
"""
