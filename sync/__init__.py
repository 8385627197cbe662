"""Terminal <-> provincial server protocol, client, and the reference server."""
