"""Protection: support offered, accommodation, contacts, missing episodes, move-on."""
