#!/bin/sh
# Creates the compose stack's development secrets in one volume, once:
# the issuer's RSA key pair, the PostgreSQL password and the revocation feed
# token. Runs in the issuer image's `dev` target (busybox sh). Existing files
# are kept, so restarting the stack does not invalidate tokens or the database.
# Nothing here is ever committed or used outside docker-compose.yml.
set -eu

dir=${DEV_SECRETS_DIR:-/dev-secrets}

# random_hex prints 32 random bytes as 64 hex characters (URL and YAML safe).
random_hex() {
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

# write_once NAME creates $dir/NAME from random_hex unless it already exists.
# Mode 0644: the volume is only mounted into this stack's containers, which
# run as different users (postgres, kong, the issuer).
write_once() {
	if [ ! -s "$dir/$1" ]; then
		random_hex >"$dir/$1.tmp"
		chmod 0644 "$dir/$1.tmp"
		mv "$dir/$1.tmp" "$dir/$1"
		echo "dev-secrets: created $1"
	fi
}

if [ ! -s "$dir/private.pem" ]; then
	issuer keys generate --out "$dir"
	echo "dev-secrets: created the RSA key pair"
fi
write_once pg-password
write_once revocation-token
