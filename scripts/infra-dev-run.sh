#!/bin/sh
# Entry point of the issuer image's `dev` target (docker-compose.yml only):
# builds DATABASE_URL and REVOCATION_FEED_TOKEN from the files that
# infra-dev-secrets.sh wrote, then runs `issuer "$@"`. The production image
# has no shell and takes both from its environment (a Kubernetes Secret).
set -eu

dir=${DEV_SECRETS_DIR:-/dev-secrets}
DATABASE_URL="postgres://${PGUSER:-auth_user}:$(cat "$dir/pg-password")@${PGHOST:-postgres}:5432/${PGDATABASE:-auth_db}?sslmode=disable"
REVOCATION_FEED_TOKEN=$(cat "$dir/revocation-token")
export DATABASE_URL REVOCATION_FEED_TOKEN
exec /usr/local/bin/issuer "$@"
