"""The HTTP routes of the reference server, one router per responsibility; ``sync.server.app``
includes them all."""
