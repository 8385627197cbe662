"""Hardware drivers. Import nothing of app/ or sync/."""
