"""What ``nps smoke`` needs from AWS beyond the capabilities' own adapters."""
