"""Kezhan (客站): the ticket window and boarding gate terminal."""

__version__ = "0.1.0"
