"""Carriers and their services with rate tables, rate shopping, shipments with
parcels, tracking numbers and 4x6 labels.

- models.py: Carrier, CarrierService (limits, surcharges, rate table), Shipment, Parcel
- rating.py: billable weight, quote, delivery dates, shop, estimate (read-only)
- services.py: create carriers and services, create_shipment (rate, number, label,
  through the gateway), void_shipment, manifest, carrier accounts (write-only)
- gateway.py: the provider interface; BuiltInProvider (rate cards, own labels) and
  EasyPostProvider (the label aggregator through the official client); provider_for
- fake_aggregator.py: a local HTTP server speaking the EasyPost v2 endpoints used
- labels.py: tracking numbers, the 4x6 PDF label
- demo.py: seed_carriers(), plausible 2025-like services and rates
- api.py: GET /api/carriers, POST /api/rates/shop, GET /api/shipments/<id>[/label.pdf],
  POST /api/shipments/<id>/void, POST /api/manifests,
  GET/PUT/DELETE /api/warehouses/<id>/carrier-account (admin)
"""
