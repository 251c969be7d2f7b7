"""The link to the server: one connection (``uplink``), the reconnect loop (``reconnect``) and the
bounded outage buffer (``buffer``, pure)."""
