"""Data behind the tool servers: a deterministic offline provider per tool, and real ones behind a setting."""
