"""The support case's rules: pure functions over its history, no I/O."""
