"""Partners act on flags: each agency sees, and acknowledges, the drop-offs on its own
journeys that concern it."""
