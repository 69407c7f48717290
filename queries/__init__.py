"""The saved-query library, its registry and the read-only runner."""
