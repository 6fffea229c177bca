"""Tests of flows/report/."""
