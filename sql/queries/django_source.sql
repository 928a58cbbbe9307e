-- Queries run on the SOURCE database of issuer users import-django (a
-- Django user table), not on the issuer's own.

-- DjangoSourceColumns lists the columns of @table_name (a name resolved on
-- the search path, as Django's queries do) and their types. No rows: no
-- such table.
-- name: DjangoSourceColumns :many
SELECT a.attname::text AS name, format_type(a.atttypid, NULL)::text AS type
FROM pg_catalog.pg_attribute AS a
WHERE a.attrelid = to_regclass(quote_ident(@table_name::text)) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;
