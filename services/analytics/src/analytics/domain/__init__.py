"""The analytics' rules and computations: disclosure control, the tables and how they are
measured from facts, k-anonymity, folding events into rows, the what-if model; pure, no
I/O (the queries that feed them are in adapters/)."""
