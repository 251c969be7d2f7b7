"""Scripts of the repository; the Python one is the offline bundle tool (scripts.offline_bundle)."""
