"""``edge-server hub``: a stateless relay that serves the conference from Redis only: the
overview, every room's captions to remote listeners, transcript exports and metrics. Any number
of hubs can run side by side; a hub that dies loses nothing (its listeners reconnect to another
and get their backlog from Redis)."""
