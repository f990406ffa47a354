"""The NRM's shared vocabulary (agencies.py); each service keeps the rest of its domain."""
