#!/bin/sh
# Kong's entry point in docker-compose.yml: renders kong/kong.yml for DB-less
# mode, then starts Kong as its image does. kong.yml is also a decK file, so
# it names its per-environment values as decK environment references,
# ${{ env "DECK_NAME" }}; DB-less Kong does not expand those, so this script
# fills them: DECK_MEDINSIGHTS_REVOCATION_TOKEN from the token the
# dev-secrets service generated, DECK_CORS_ORIGIN from the environment
# (docker-compose.yml). The rendered file lives on the prefix tmpfs, never
# on disk.
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
DECK_MEDINSIGHTS_REVOCATION_TOKEN=$token

# The origin goes into a sed replacement and a quoted YAML string: allow
# only the characters of a scheme://host[:port] origin.
case ${DECK_CORS_ORIGIN:-} in
http://* | https://*) ;;
*)
	echo "dev-entrypoint: DECK_CORS_ORIGIN must be an http(s) origin such as http://localhost:5173" >&2
	exit 1
	;;
esac
case $DECK_CORS_ORIGIN in
*[!A-Za-z0-9:/.-]*)
	echo "dev-entrypoint: DECK_CORS_ORIGIN has a character an origin does not" >&2
	exit 1
	;;
esac

umask 077
sed -e 's|\${{ env "DECK_MEDINSIGHTS_REVOCATION_TOKEN" }}|'"$DECK_MEDINSIGHTS_REVOCATION_TOKEN"'|g' \
	-e 's|\${{ env "DECK_CORS_ORIGIN" }}|'"$DECK_CORS_ORIGIN"'|g' "$src" >"$dst"
# shellcheck disable=SC2016 # a literal decK reference, not a shell expansion
if grep -qF '${{' "$dst"; then
	echo "dev-entrypoint: $src has a decK reference this script does not fill" >&2
	exit 1
fi

exec /docker-entrypoint.sh kong docker-start
