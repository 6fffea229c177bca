"""Tests of flows/: the flows on top, each stage in its own folder."""
