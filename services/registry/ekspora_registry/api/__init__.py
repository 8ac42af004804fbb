"""HTTP API for operators, one router per resource: UMKM, their products, incubation cohorts.

Routes validate, call a use case and return; refusals are answered once by the kit's HTTP app."""

from ekspora_registry.api import cohorts, marketplace, msmes, products

ROUTERS = [msmes.router, products.router, marketplace.router, cohorts.router]
