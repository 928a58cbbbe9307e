#!/bin/sh
# Kong's entry point in docker-compose.yml: renders kong/kong.yml for DB-less
# mode, then starts Kong as its image does. kong.yml is also a decK file, so
# it names the revocation feed token as a decK environment reference,
# ${{ env "DECK_MEDINSIGHTS_REVOCATION_TOKEN" }}; DB-less Kong does not
# expand those, so this script substitutes the token the dev-secrets service
# generated. The rendered file lives on the prefix tmpfs, never on disk.
set -eu

secrets=${DEV_SECRETS_DIR:-/dev-secrets}
src=${KONG_DECLARATIVE_SOURCE:-/kong/kong.yml}
dst=${KONG_DECLARATIVE_CONFIG:?KONG_DECLARATIVE_CONFIG must name the rendered file}

token=$(cat "$secrets/revocation-token")
case $token in
*[!0-9a-f]* | '')
	echo "dev-entrypoint: $secrets/revocation-token is not a hex token" >&2
	exit 1
	;;
esac

umask 077
sed 's|\${{ env "DECK_MEDINSIGHTS_REVOCATION_TOKEN" }}|'"$token"'|g' "$src" >"$dst"
# shellcheck disable=SC2016 # a literal decK reference, not a shell expansion
if grep -qF '${{' "$dst"; then
	echo "dev-entrypoint: $src has a decK reference this script does not fill" >&2
	exit 1
fi

exec /docker-entrypoint.sh kong docker-start
