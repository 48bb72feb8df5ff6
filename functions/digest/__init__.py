"""The weekly digest: each Monday at 09:00 in the store's timezone, last week's figures to its owners."""
