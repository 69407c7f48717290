"""Linking records of two loaded datasets: deterministic keys and Splink, links as graph relationships."""
