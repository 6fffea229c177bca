"""Tests of flows/alerts/."""
