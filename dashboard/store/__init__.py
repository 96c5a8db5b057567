"""The event log (a Redis stream) and the projections read from it: the live meeting,
snapshots and minutes."""
