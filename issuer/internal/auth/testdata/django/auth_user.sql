--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: auth_user; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.auth_user (
    id integer NOT NULL,
    password character varying(128) NOT NULL,
    last_login timestamp with time zone,
    is_superuser boolean NOT NULL,
    username character varying(150) NOT NULL,
    first_name character varying(150) NOT NULL,
    last_name character varying(150) NOT NULL,
    email character varying(254) NOT NULL,
    is_staff boolean NOT NULL,
    is_active boolean NOT NULL,
    date_joined timestamp with time zone NOT NULL
);


--
-- Name: auth_user_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.auth_user_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: auth_user_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.auth_user_id_seq OWNED BY public.auth_user.id;


--
-- Name: auth_user id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.auth_user ALTER COLUMN id SET DEFAULT nextval('public.auth_user_id_seq'::regclass);


--
-- Data for Name: auth_user; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (1, 'pbkdf2_sha256$720000$LuPIhwBbN10aSMUnvdUii8$nhjWfiEKs64aDGDxWpdYzhBdAuDL5OXtY5KZB2ef7/c=', NULL, false, 'pbkdf2user', '', '', 'pbkdf2user@example.org', false, true, '2026-12-07 06:15:58.803369+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (2, 'argon2$argon2id$v=19$m=102400,t=2,p=8$alFMZjJhYWVYRUo3VklDQmlyeW1LMA$ZbX6Kr3O0+yM7P52TjD3mw', NULL, false, 'argonid', '', '', 'argonid@example.org', false, true, '2026-12-07 06:16:00.868133+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (3, 'bcrypt_sha256$$2b$12$G2tctX1jLibd7/afdyhSIeF3XQGvm2rFVhvXLZOeBo/lfgG.DAfAa', NULL, false, 'bcryptsha', '', '', 'bcryptsha@example.org', false, true, '2026-12-07 06:16:03.287913+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (4, '!feGyPa4i3xKl5Fgp9tL2Xa505aCU2J6n8feTGMuq', NULL, false, 'nopass', '', '', 'nopass@example.org', false, true, '2026-12-07 06:16:04.931355+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (5, 'pbkdf2_sha256$1000$BXEHVJEebT8hRL4UOfmsxj$XsjC3EiLLlxdFNNGIMmsA2HhRhWwm2pfj4maw97thgg=', NULL, false, 'inactive', '', '', 'inactive@example.org', false, false, '2026-12-07 06:16:04.932859+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (6, 'pbkdf2_sha256$1000$UTcLNStwf4nTrP29T7yC3H$8WQSz9kWFj9fF1hKRnbGUJNi7UMfccIE8dLglSeExMo=', NULL, false, 'staffer', '', '', 'staffer@example.org', true, true, '2026-12-07 06:16:04.936283+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (7, 'argon2$argon2id$v=19$m=1024,t=1,p=2$S05JbVFZSGVJYTNZOWIyMERHRHZ2Ug$U+kVhwmFwYh6oAxH9NDQuA', NULL, true, 'root', '', '', 'root@example.org', true, true, '2026-12-07 06:16:04.938257+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (8, 'pbkdf2_sha256$1000$woLJzzHwD54D2tuynYC8Qe$/fot90VN0DXrEA46bpQ0w3NUUVHKIQaWQZlvHH7NPwA=', NULL, false, 'jo', 'Jo', 'Ng', 'jo@example.org', false, true, '2026-12-07 06:16:04.947813+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (9, 'pbkdf2_sha256$1000$3rWSrSNEdjRInsn6DKzF9j$otzG3QjoyvQKO4IJYixXNTFFeXH3pz0ntCgt5LVzcKY=', NULL, false, 'carol', '', '', 'carol@example.org', false, true, '2026-12-07 06:16:04.956278+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (10, 'pbkdf2_sha256$1000$kDXE2WhVScrl7USVlw07F5$I1iHZhY4zyn3eG87Jn9pYzRG0Vrjcnz0RRDIPbiMoiE=', NULL, false, 'carol2', '', '', 'Carol@example.org', false, true, '2026-12-07 06:16:04.959625+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (11, 'pbkdf2_sha256$1000$Trm9hDQsWmeXXSfH3sDbtR$EeG7xj6I4G13uJCBlci6tBr2lOUrs6yLc+/gYCb9PKI=', NULL, false, 'zoë', '', '', 'zoe@example.org', false, true, '2026-12-07 06:16:04.965261+00');


--
-- Name: auth_user_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.auth_user_id_seq', 11, true);


--
-- Name: auth_user auth_user_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.auth_user
    ADD CONSTRAINT auth_user_pkey PRIMARY KEY (id);


--
-- Name: auth_user auth_user_username_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.auth_user
    ADD CONSTRAINT auth_user_username_key UNIQUE (username);


--
-- Name: auth_user_username_6821ab7c_like; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX auth_user_username_6821ab7c_like ON public.auth_user USING btree (username varchar_pattern_ops);


--
-- PostgreSQL database dump complete
--


