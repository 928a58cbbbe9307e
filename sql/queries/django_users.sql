-- DjangoUserImported lists which of @django_ids of @django_table were
-- imported before.
-- name: DjangoUserImported :many
SELECT django_users.django_id FROM unnest(@django_ids::text[]) AS i (django_id)
JOIN django_users ON django_users.django_table = @django_table AND django_users.django_id = i.django_id;

-- name: DjangoUserInsert :copyfrom
INSERT INTO django_users (django_table, django_id, user_id, last_login, imported_at)
VALUES (@django_table, @django_id, @user_id, @last_login, @imported_at);

-- DjangoImportLock makes imports take turns: held until the transaction ends.
-- name: DjangoImportLock :exec
SELECT pg_advisory_xact_lock(hashtext('issuer users import-django'));
