"""Tests of flows/sources/."""
