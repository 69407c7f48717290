"""The `micropath` command line."""
