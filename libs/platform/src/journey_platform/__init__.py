"""Infrastructure shared by the victim-journey services (no domain types)."""
