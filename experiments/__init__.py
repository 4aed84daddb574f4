"""Named experiments and their command-line launcher (run from the repository root)."""
