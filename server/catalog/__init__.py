"""The sellers' SKUs: identity, barcodes, dimensions, weight, cost and price."""
