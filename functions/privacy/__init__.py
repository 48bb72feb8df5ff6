"""Customer data rights: one export and one erase of all Aftercare holds about a customer in a store."""
