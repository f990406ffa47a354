"""The flags service's I/O: the rules catalogue file, PostgreSQL, Kafka."""
