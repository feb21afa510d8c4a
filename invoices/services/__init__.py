"""Invoicing writes, one module per sub-domain: invoices, notes (credit and debit notes),
orders, batch (many invoices at once, for billing cycles) and filing (the tax-agency loop).
Callers import from the module that owns the service."""
