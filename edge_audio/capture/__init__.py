"""Where audio comes from: a sound file or a source interface (``sources``), a PortAudio device
(``device_source``), and live capture with hot-plug (``loop``)."""
