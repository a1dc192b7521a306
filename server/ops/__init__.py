"""Running a site: database URL checks, backups, upgrades and the health checks behind ``motcua doctor``."""
