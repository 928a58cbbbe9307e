-- Which Django user became which issuer user (issuer users import-django).
-- A re-run skips every Django row found here, so an import never updates or
-- duplicates a user. The key is the source table's name and the row's
-- primary key as text (Django's id is an integer, or whatever a custom model
-- uses). No password hash is kept here: a Django hash lives only in
-- users.password_hash, until the user's first login replaces it.
-- last_login is Django's, kept for the operator (dormant accounts).
-- user_id has no foreign key on purpose: the record outlives a user deleted
-- later, so a re-run never brings that user back (and a bulk import skips
-- one key check per row).

-- +goose Up
CREATE TABLE django_users (
    django_table text        NOT NULL,
    django_id    text        NOT NULL,
    user_id      uuid        NOT NULL UNIQUE,
    last_login   timestamptz,
    imported_at  timestamptz NOT NULL,
    PRIMARY KEY (django_table, django_id)
);

-- +goose Down
DROP TABLE django_users;
