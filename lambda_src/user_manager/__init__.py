"""The user-manager function: users with unique emails in the Users table (seed 003)."""
