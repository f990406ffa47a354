"""The support service's routes: its record table (cases.py)."""
