"""Redis adapters: a room's replicator (finals and status out to Redis) and the connection
helpers the hub shares. The decisions are in :mod:`edge_server.core.replication`."""
