"""Carriers and their services with rate tables, rate shopping, shipments with
parcels, tracking numbers and 4x6 labels.

- models.py: Carrier, CarrierService (limits, surcharges, rate table), Shipment, Parcel
- rating.py: billable weight, quote, delivery dates, shop, estimate (read-only)
- services.py: create carriers and services, create_shipment (rate, number, label)
- labels.py: tracking numbers, the 4x6 PDF label
- demo.py: seed_carriers(), plausible 2025-like services and rates
- api.py: GET /api/carriers, POST /api/rates/shop, GET /api/shipments/<id>[/label.pdf]
"""
