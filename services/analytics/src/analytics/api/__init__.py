"""The analytics API: the analysts' answers as JSON, files (CSV, Parquet) and charts, the
Home Office's tables, what-ifs, the CTDC export and the dashboard page; read-only."""
