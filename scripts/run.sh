#!/usr/bin/env bash
# `make run`: the issuer on LISTEN_ADDR (default :8001), with whatever a fresh
# clone lacks. Reads .env when present; a variable set in the environment
# wins over .env (`LISTEN_ADDR=:9000 make run`). When DATABASE_URL is unset, starts
# the private PostgreSQL of scripts/pg.sh; when JWT_PRIVATE_KEY_PATH is unset,
# uses keys/private.pem, generating a development key pair there if missing.
# Then applies the migrations and serves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -f .env ]; then
	# Remember what the environment sets, read .env, then put back every
	# value .env changed.
	declare -A given=()
	while IFS= read -r name; do
		given[$name]=${!name}
	done < <(compgen -e)
	set -a
	# shellcheck disable=SC1091
	. ./.env
	set +a
	for name in "${!given[@]}"; do
		if [ "${!name-}" != "${given[$name]}" ]; then
			export "$name=${given[$name]}"
		fi
	done
fi

if [ -z "${DATABASE_URL:-}" ]; then
	DATABASE_URL=$(scripts/pg.sh start)
	export DATABASE_URL
	echo "run.sh: using the private PostgreSQL at $DATABASE_URL (scripts/pg.sh stop to delete it)" >&2
fi

if [ -z "${JWT_PRIVATE_KEY_PATH:-}" ]; then
	if [ ! -f keys/private.pem ]; then
		bin/issuer keys generate --out keys >&2
	fi
	export JWT_PRIVATE_KEY_PATH=keys/private.pem
fi

bin/issuer migrate up >&2
exec bin/issuer serve
