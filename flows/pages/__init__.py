"""Article pages: cleaning them to text (and events) in a process pool, fetched and cleaned as one stream."""
