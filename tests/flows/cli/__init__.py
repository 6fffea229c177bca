"""Tests of flows/cli/."""
