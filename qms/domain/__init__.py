"""The domain core: ticket rules, events and errors. Imports no Flask and no SQLite."""
