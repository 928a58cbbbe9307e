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

INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (1, 'pbkdf2_sha256$720000$LXgTqqo9w4EUfKXSvuJi0d$SBzF772bUBykLVSZedajQCOvM/+aNFW16ke7+7RWZ7w=', NULL, false, 'pbkdf2user', '', '', 'pbkdf2user@example.org', false, true, '2026-12-07 06:43:45.420851+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (2, 'argon2$argon2id$v=19$m=102400,t=2,p=8$UVlyV3FFc0p5SWRKUldJQVFjYVNZMg$AycLpIlXucXNME+LIbWjiw', NULL, false, 'argonid', '', '', 'argonid@example.org', false, true, '2026-12-07 06:43:51.948439+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (3, 'bcrypt_sha256$$2b$12$rQdLrVLpBznx3WvYKrd12.mL2jvidCFC7SY67..c24ydxVpLyUYJS', NULL, false, 'bcryptsha', '', '', 'bcryptsha@example.org', false, true, '2026-12-07 06:43:57.232237+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (4, '!BGRBQVImUcNPo91Dj2ZTnwIjd8jHP6xkkwPCI5Vg', NULL, false, 'nopass', '', '', 'nopass@example.org', false, true, '2026-12-07 06:44:01.508116+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (5, 'pbkdf2_sha256$1000$XEdWd821aMBHueg9B840cw$50Cmtz/tgIyR2B6ozTo+UQ9vPV8B+N6VXVmcYtoeEPs=', NULL, false, 'inactive', '', '', 'inactive@example.org', false, false, '2026-12-07 06:44:01.552314+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (6, 'pbkdf2_sha256$1000$NVHS8Vk8l0p1cGLdlAq3KU$BtuJp8mOFJvdNkVBrNYZXbz54il0+0ZtnegcbBkDrJY=', NULL, false, 'staffer', '', '', 'staffer@example.org', true, true, '2026-12-07 06:44:01.587424+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (7, 'argon2$argon2id$v=19$m=1024,t=1,p=2$QlhaU1Y5NFdZNWdMS1JuazJrUDB5NQ$dL3uVpQETP3cs+pXKRDKDQ', NULL, true, 'root', '', '', 'root@example.org', true, true, '2026-12-07 06:44:01.603913+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (8, 'pbkdf2_sha256$1000$rk1sNdBdQVtsMCJ589Uxhq$SKl1i3VbPKWZpWPLNSr0/MbxmrjCSTDHO3GXKPqP2c0=', NULL, false, 'jo', 'Jo', 'Ng', 'jo@example.org', false, true, '2026-12-07 06:44:01.724065+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (9, 'pbkdf2_sha256$1000$dutNWBd4HDE62nuWNu2RPS$+J2aGcBt9G5w5npHxtsGxjeYjjlvCM040ZEm5MpL89w=', NULL, false, 'carol', '', '', 'carol@example.org', false, true, '2026-12-07 06:44:01.744303+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (10, 'pbkdf2_sha256$1000$WcIi8ZxsdLLLhewCTiCSEq$FGfoRhS0veq9mPmRrVl73R8EGTstc/ebKyc0z8fNob0=', NULL, false, 'carol2', '', '', 'Carol@example.org', false, true, '2026-12-07 06:44:01.77645+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (11, 'pbkdf2_sha256$1000$PhYgean9pKqCblXZtmOf7t$dXo2KL4h1ELoo36VRrLh6mJcTHF28CB5gzfRVutwpo4=', NULL, false, 'zoë', '', '', 'zoe@example.org', false, true, '2026-12-07 06:44:01.818147+00');


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


