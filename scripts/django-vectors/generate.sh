#!/usr/bin/env bash
# Regenerate the Django test vectors with a real Django (not run by CI: the
# output is committed under issuer/internal/auth/testdata/django/).
#
#   apt-get install -y python3-django python3-argon2 python3-bcrypt python3-psycopg2
#   scripts/django-vectors/generate.sh
#
# Django creates its user tables with its own migrations in two databases of
# the private PostgreSQL (scripts/pg.sh): the old service's custom model
# (authentication_user, AbstractUser + email_verified) and stock auth_user,
# writes users with every hasher, and pg_dump dumps each table as plain
# INSERTs. hashers.json holds make_password's output for each hasher.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/issuer/internal/auth/testdata/django
mkdir -p "$out"
export PATH=/usr/lib/postgresql/15/bin:$PATH

url=$("$root/scripts/pg.sh" start)
host=$(sed -E 's/.*host=([^&]+).*/\1/' <<<"$url")
export PGHOST=$host PGUSER=postgres

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/authentication" "$here/generate.py" "$work/"

dump() { # database table file
	# Plain INSERTs load with one Exec; psql meta-commands (\restrict) are dropped.
	pg_dump --no-owner --no-privileges --column-inserts -t "$2" "$1" | grep -v '^\\' >"$out/$3"
}

for mode in custom stock; do
	db=django_$mode
	psql -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
	/usr/bin/python3 "$work/generate.py" "$mode" "$db" "$out"
done
/usr/bin/python3 "$work/generate.py" vectors - "$out"
dump django_custom authentication_user authentication_user.sql
dump django_stock auth_user auth_user.sql
echo "wrote $out"
