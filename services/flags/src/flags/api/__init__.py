"""The flags API: list and read flags, acknowledge them."""
