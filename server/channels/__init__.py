"""Marketplace channels: accounts, SKU mappings, adapters that read each platform's
own payloads, the idempotent upsert into orders, webhooks, polling jobs, dead
letters, and the pushes back (stock, tracking). See docs: CHANNELS.md."""
