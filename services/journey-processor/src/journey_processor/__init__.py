"""Stream processors: assemble each journey, flag drop-off points, publish journey outcomes."""
