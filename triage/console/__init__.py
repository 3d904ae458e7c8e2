"""The staff console: a web inbox for handoff cases, the audit log and admin work."""
