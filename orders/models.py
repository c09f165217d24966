"""orders: models. The fake custody's tables live in orders.custody.fake_models."""

from orders.custody.fake_models import *  # noqa: F401,F403
