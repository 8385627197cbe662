"""Data files shipped with Kezhan: templates, translations, styles, the demo recipe."""
