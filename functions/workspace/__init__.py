"""The store's workspace: sign-in by email, the inbox, request history, configuration (owners)."""
