"""Warehouse allocation: which warehouse ships each order line, with the stock
reserved in the same transaction, and a stored reason for every decision."""
