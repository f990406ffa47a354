"""Implementations of `journey_api.store.RecordStore`: PostgreSQL, and in memory for tests."""
