"""Sub-commands of ``kezhan``: one module each, registered by app/cli.py."""
