"""The message-stream function: keep message groups sorted by their latest message (seed 001)."""
