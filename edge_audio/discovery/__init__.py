"""Device discovery: ``pwdump``, ``padevices``, ``ranking``, ``openplan`` and ``report`` are pure;
``probe`` runs ``pw-dump`` and asks PortAudio."""
