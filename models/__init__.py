"""Shipped models (installed as package data so every install finds them)."""
