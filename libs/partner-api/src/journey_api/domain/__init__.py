"""What every partner service's domain shares: records, resources, actions and the errors
a rule raises. No HTTP and no SQL here: the API layer maps errors to problem+json, and the
adapters hold the SQL."""
