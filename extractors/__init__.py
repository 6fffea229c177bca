"""Rule-based event extraction."""
