from django.db import models


class TokenKind(models.TextChoices):
    USER = "user", "User bearer token"
    ADMIN = "admin", "Admin JWT"


class AuditOutcome(models.TextChoices):
    OK = "ok", "Done"
    REJECTED = "rejected", "Rejected"
