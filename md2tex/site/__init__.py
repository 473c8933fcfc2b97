"""Whole sites: configuration files and the batch over many posts."""
