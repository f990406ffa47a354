"""The prosecution service's routes: its record table (cases.py)."""
