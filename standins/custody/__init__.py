"""The fake custody as its own Django app (label `fake_custody`): the custody gateway protocol
over our own tables, the demo's chain relay to the paper venue, `manage.py demo_pay`.

Installed only outside production (`mrmarket/settings.py`); it registers itself as the
`fake` custody backend when Django is ready (`orders.custody.custody_backend_register`), so
the orders app never imports it.
"""
