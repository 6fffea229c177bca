"""Alerts out: which change alerts whom (routing), sending them once (delivery), and the channels."""
