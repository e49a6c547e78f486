"""Warehouses, bins, stock levels and the immutable stock ledger.

The ledger is the truth (invariant 2): every change of on_hand or reserved is a
StockMovement row, and the Stock row is its projection, written in the same
transaction by the service functions in `services.py`, which are the only writers.
"""
