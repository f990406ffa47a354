"""The drop-off rules catalogue (`catalogue.yaml`): loaded, checked against the event
contracts, and tunable per deployment."""
