"""HTTP API, one router per resource: operators plan, book and track shipments and manage documents;
UMKM and partners (through their operator) see their orders and cost shares; forwarders post signed updates."""

from ekspora_shipping.api import carriers, orders, shipments

ROUTERS = [shipments.router, orders.router, carriers.router]
