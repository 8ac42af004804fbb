"""Ekspora's shared plumbing. Services use it; it knows nothing of any one service."""
