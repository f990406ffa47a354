"""The `journey` command."""
