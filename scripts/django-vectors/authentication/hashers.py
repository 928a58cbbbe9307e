"""Hashers for the vectors, beside Django's own.

Django 3.2 (Debian bookworm's python3-django) writes pbkdf2_sha256 with
260000 iterations and has no scrypt hasher (added in Django 4.0). The
subclasses below only change cost parameters of Django's own hashers, so
Django's code still writes every hash. ScryptPasswordHasher reproduces
Django 4.0's encoding, "scrypt$N$salt$r$p$base64(key)"; generate.py checks it
against the vectors published in Django's tests before using it.
"""
import base64
import hashlib

from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    BasePasswordHasher,
    BCryptPasswordHasher,
    BCryptSHA256PasswordHasher,
    PBKDF2PasswordHasher,
    PBKDF2SHA1PasswordHasher,
)
from django.utils.crypto import constant_time_compare


class PBKDF2Django50PasswordHasher(PBKDF2PasswordHasher):
    """pbkdf2_sha256 at Django 5.0's iteration count."""
    iterations = 720000


class PBKDF2SHA1Django50PasswordHasher(PBKDF2SHA1PasswordHasher):
    """pbkdf2_sha1 at Django 5.0's iteration count."""
    iterations = 720000


class PBKDF2FastPasswordHasher(PBKDF2PasswordHasher):
    """pbkdf2_sha256 at 1000 iterations: cheap vectors for the many cases."""
    iterations = 1000


class PBKDF2SHA1FastPasswordHasher(PBKDF2SHA1PasswordHasher):
    iterations = 1000


class BCryptSHA256FastPasswordHasher(BCryptSHA256PasswordHasher):
    rounds = 5


class BCryptFastPasswordHasher(BCryptPasswordHasher):
    rounds = 5


class Argon2iDefaultPasswordHasher(Argon2PasswordHasher):
    """argon2i at Django's default cost (m=102400, t=2, p=8)."""

    def params(self):
        argon2 = self._load_library()
        params = super().params()
        params.type = argon2.low_level.Type.I
        return params


class Argon2iPasswordHasher(Argon2iDefaultPasswordHasher):
    """argon2i, as Django wrote it before 3.2, with cheap parameters."""
    time_cost = 2
    memory_cost = 1024
    parallelism = 2


class Argon2FastPasswordHasher(Argon2PasswordHasher):
    """argon2id with cheap parameters (Django's default is m=102400,t=2,p=8)."""
    time_cost = 1
    memory_cost = 1024
    parallelism = 2


class ScryptPasswordHasher(BasePasswordHasher):
    """Django 4.0's scrypt encoding (absent from Django 3.2)."""
    algorithm = "scrypt"
    work_factor = 2 ** 14
    block_size = 8
    parallelism = 1

    def encode(self, password, salt, n=None, r=None, p=None):
        n = n or self.work_factor
        r = r or self.block_size
        p = p or self.parallelism
        key = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p,
                             maxmem=128 * n * r * p + 1024 * 1024, dklen=64)
        return "%s$%d$%s$%d$%d$%s" % (self.algorithm, n, salt, r, p, base64.b64encode(key).decode("ascii"))

    def verify(self, password, encoded):
        algorithm, n, salt, r, p, _ = encoded.split("$", 5)
        return constant_time_compare(encoded, self.encode(password, salt, int(n), int(r), int(p)))


class ScryptFastPasswordHasher(ScryptPasswordHasher):
    work_factor = 2 ** 10
