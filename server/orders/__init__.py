"""Orders: what a channel (or a person) asked us to ship, their lines, their
state, and their history. Allocation (server/allocation) decides where they ship."""
