"""Analysts' view of the journeys: sink, disclosure-controlled analytics, reports and charts."""
