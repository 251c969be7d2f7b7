"""Amazon Translate as a room's translator (``translator``)."""
