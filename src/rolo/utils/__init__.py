"""Box conventions, atomic file writes, code hashes, job setup."""
