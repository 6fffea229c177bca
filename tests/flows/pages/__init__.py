"""Tests of flows/pages/."""
