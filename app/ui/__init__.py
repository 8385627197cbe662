"""The counter window (PySide6). Qt is imported here and nowhere else in the project."""
