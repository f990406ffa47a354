"""What every partner-facing API shares (no domain types)."""
