"""Write Django users with every hasher into PostgreSQL, and hash vectors.

Run by generate.sh (see there); not by CI. Usage:

    python3 generate.py custom DBNAME OUT   # authentication_user, OUT/custom-users.json
    python3 generate.py stock DBNAME OUT    # auth_user, OUT/stock-users.json
    python3 generate.py vectors - OUT       # OUT/hashers.json (no database)

PGHOST names the server (a socket directory). Django creates the table with
its own migrations and writes every user through its own model and hashers.
The passwords are test data, chosen here and written beside the users.
"""
import json
import os
import sys

mode, dbname, out = sys.argv[1:4]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.SHA1PasswordHasher",
    "django.contrib.auth.hashers.UnsaltedMD5PasswordHasher",
    "django.contrib.auth.hashers.UnsaltedSHA1PasswordHasher",
    "django.contrib.auth.hashers.CryptPasswordHasher",
    "authentication.hashers.ScryptPasswordHasher",
]

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"] + (["authentication"] if mode == "custom" else []),
    AUTH_USER_MODEL="authentication.User" if mode == "custom" else "auth.User",
    DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": dbname if dbname != "-" else "unused",
                           "HOST": os.environ.get("PGHOST", ""), "USER": os.environ.get("PGUSER", "postgres")}},
    PASSWORD_HASHERS=HASHERS,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()

from django.contrib.auth.hashers import check_password, get_hasher, make_password  # noqa: E402

from authentication import hashers as h  # noqa: E402

# Django's published vectors (tests/auth_tests/test_hashers.py, Django 4.2)
# pin the scrypt encoding above before it writes anything.
assert h.ScryptPasswordHasher().encode("lètmein", "seasalt") == (
    "scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==")
assert h.ScryptPasswordHasher().encode("lètmein", "seasalt", p=5) == (
    "scrypt$16384$seasalt$8$5$ECMIUp+LMxMSK8xB/IVyba+KYGTI7FTnet025q/1f/vBAVnnP3hdYqJuRi+mJn6ji6ze3Fbb7JEFPKGpuEf5vw==")

# Named hashers: Django's own, some with other cost parameters.
HASHER = {
    "pbkdf2_sha256_django50": h.PBKDF2Django50PasswordHasher(),
    "pbkdf2_sha256_django32": get_hasher("pbkdf2_sha256"),
    "pbkdf2_sha256": h.PBKDF2FastPasswordHasher(),
    "pbkdf2_sha1": h.PBKDF2SHA1FastPasswordHasher(),
    "pbkdf2_sha1_django50": h.PBKDF2SHA1Django50PasswordHasher(),
    "argon2id": h.Argon2FastPasswordHasher(),
    "argon2id_django_default": get_hasher("argon2"),
    "argon2i": h.Argon2iPasswordHasher(),
    "argon2i_default": h.Argon2iDefaultPasswordHasher(),
    "bcrypt_sha256_default": get_hasher("bcrypt_sha256"),
    "bcrypt_sha256": h.BCryptSHA256FastPasswordHasher(),
    "bcrypt_default": get_hasher("bcrypt"),
    "bcrypt": h.BCryptFastPasswordHasher(),
    "scrypt_default": h.ScryptPasswordHasher(),
    "scrypt": h.ScryptFastPasswordHasher(),
    "md5": get_hasher("md5"),
    "sha1": get_hasher("sha1"),
    "unsalted_md5": get_hasher("unsalted_md5"),
    "unsalted_sha1": get_hasher("unsalted_sha1"),
    "crypt": get_hasher("crypt"),
}


def encode(hasher, password):
    hs = HASHER[hasher]
    encoded = make_password(password, hasher=hs)
    ok = hs.verify(password, encoded) if hasher.startswith("scrypt") else check_password(password, encoded)
    assert ok, (hasher, "Django does not verify its own hash")
    return encoded


def write(name, data):
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


if mode == "vectors":
    passwords = ["lètmein", "", "correct horse battery staple", "p" * 100, "日本語のパスワード"]
    vectors = []
    for name in HASHER:
        for pw in passwords:
            if name.endswith(("_django50", "_django32", "_default")) and pw != "lètmein":
                continue  # one vector each at full cost keeps the Go tests fast
            if name == "crypt" and pw:
                pw = pw[:8]  # crypt(3) reads 8 characters
            vectors.append({"hasher": name, "password": pw, "encoded": encode(name, pw)})
    write("hashers.json", vectors)
    sys.exit(0)

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

if mode == "custom":
    call_command("makemigrations", "authentication", verbosity=0)
call_command("migrate", verbosity=0)
User = get_user_model()

# (username, email, hasher or None for unusable, password, extra fields)
ROWS = [
    ("pbkdf2user", "pbkdf2user@example.org", "pbkdf2_sha256_django50", "lètmein-pbkdf2-720000", {}),
    ("pbkdf2old", "pbkdf2old@example.org", "pbkdf2_sha256_django32", "pbkdf2 at django 3.2", {}),
    ("sha1pbkdf2", "sha1pbkdf2@example.org", "pbkdf2_sha1", "pbkdf2 sha1 password", {}),
    ("argonid", "argonid@example.org", "argon2id_django_default", "argon2id default cost", {}),
    ("argoni", "argoni@example.org", "argon2i", "argon2i légacy", {}),
    ("bcryptsha", "bcryptsha@example.org", "bcrypt_sha256_default", "bcrypt sha256 password", {}),
    ("bcryptplain", "bcryptplain@example.org", "bcrypt", "bcrypt plain password", {}),
    ("bcryptlong", "bcryptlong@example.org", "bcrypt", "L" * 80 + "-tail", {}),
    ("scryptuser", "scryptuser@example.org", "scrypt_default", "scrypt password", {}),
    ("md5user", "md5user@example.org", "md5", "md5 password", {}),
    ("cryptuser", "cryptuser@example.org", "crypt", "crypt8ch", {}),
    ("unsalted", "unsalted@example.org", "unsalted_sha1", "unsalted sha1", {}),
    ("nopass", "nopass@example.org", None, "", {}),
    ("inactive", "inactive@example.org", "pbkdf2_sha256", "inactive password", {"is_active": False}),
    ("staffer", "staffer@example.org", "pbkdf2_sha256", "staff password", {"is_staff": True}),
    ("root", "root@example.org", "argon2id", "superuser password", {"is_staff": True, "is_superuser": True}),
    ("jo", "jo@example.org", "pbkdf2_sha256", "two letters", {"first_name": "Jo", "last_name": "Ng"}),
    ("carol", "carol@example.org", "pbkdf2_sha256", "carol password", {}),
    ("carol2", "Carol@Example.ORG", "pbkdf2_sha256", "carol2 password", {}),
    ("Dave", "dave@example.org", "pbkdf2_sha256", "dave password", {}),
    ("dave", "dave2@example.org", "pbkdf2_sha256", "dave2 password", {}),
    ("zoë", "zoe@example.org", "pbkdf2_sha256", "zoe password", {}),
    ("noemail", "", "pbkdf2_sha256", "no email password", {}),
    ("badcount", "badcount@example.org", "raw", "pbkdf2_sha256$12x$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", {}),
    ("badb64", "badb64@example.org", "raw", "pbkdf2_sha256$1000$salt$not*base64", {}),
    ("absurd", "absurd@example.org", "raw", "pbkdf2_sha256$2000000000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", {}),
]
if mode == "custom":
    ROWS.append(("verified", "verified@example.org", "pbkdf2_sha256", "verified password", {"email_verified": True}))
else:
    ROWS = [r for r in ROWS if r[0] in ("pbkdf2user", "argonid", "bcryptsha", "nopass", "inactive", "staffer", "root", "jo", "carol", "carol2", "zoë")]

users = []
for username, email, hasher, password, extra in ROWS:
    if extra.get("is_superuser"):
        u = User.objects.create_superuser(username, email, None, **{k: v for k, v in extra.items() if k not in ("is_staff", "is_superuser")})
    else:
        u = User.objects.create_user(username, email, None, **extra)
    if hasher == "raw":  # a malformed hash, as a corrupted row would hold it
        u.password = password
        password = ""
    elif hasher is not None:
        u.password = encode(hasher, password)
    else:
        u.set_unusable_password()
    u.save()
    users.append({"username": username, "password": password, "hasher": hasher or "unusable"})
write(mode + "-users.json", users)
