"""The analytics commands of `journey` (report, export ctdc, whatif, analytics rebuild):
clients of the API or of the adapters, and the text tables they print."""
