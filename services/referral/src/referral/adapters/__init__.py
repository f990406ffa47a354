"""PostgreSQL beyond the journey records (journey_api.adapters holds those): the
identity vault."""
