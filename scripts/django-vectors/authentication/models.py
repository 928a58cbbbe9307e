"""The old service's user model: Django's AbstractUser plus email_verified."""
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    email_verified = models.BooleanField(default=False)
