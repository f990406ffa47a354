"""The flags service's model: pure, no I/O, no framework."""
