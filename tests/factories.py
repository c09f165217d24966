"""factory_boy factories of the project package (apps keep theirs in tests/<app>/factories.py)."""

from __future__ import annotations

import uuid

import factory

from mrmarket.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    id = factory.LazyFunction(uuid.uuid4)
    username = factory.LazyAttribute(lambda o: f"mixin-{o.id}")
    full_name = factory.Sequence(lambda n: f"User {n}")
    identity_number = factory.Sequence(lambda n: str(7100000000 + n))
    is_mixin_user = True
