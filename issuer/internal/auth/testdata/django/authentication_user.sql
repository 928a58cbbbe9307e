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
-- Name: authentication_user; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.authentication_user (
    id bigint NOT NULL,
    password character varying(128) NOT NULL,
    last_login timestamp with time zone,
    is_superuser boolean NOT NULL,
    username character varying(150) NOT NULL,
    first_name character varying(150) NOT NULL,
    last_name character varying(150) NOT NULL,
    email character varying(254) NOT NULL,
    is_staff boolean NOT NULL,
    is_active boolean NOT NULL,
    date_joined timestamp with time zone NOT NULL,
    email_verified boolean NOT NULL
);


--
-- Name: authentication_user_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.authentication_user_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: authentication_user_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.authentication_user_id_seq OWNED BY public.authentication_user.id;


--
-- Name: authentication_user id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.authentication_user ALTER COLUMN id SET DEFAULT nextval('public.authentication_user_id_seq'::regclass);


--
-- Data for Name: authentication_user; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (1, 'pbkdf2_sha256$720000$I8y1ibNYFQdpu89Q4gTmhv$XCX67ATlqtCVVECVjngEmO+nsYYVD3FRXIbVwLHawgE=', NULL, false, 'pbkdf2user', '', '', 'pbkdf2user@example.org', false, true, '2026-12-07 06:20:35.427508+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (2, 'pbkdf2_sha256$260000$D13ma0UW0JcDKrnka7btK2$2KT3UGau0nwZtv/aVoHLOMv4yCfVoIant+ZX35VjjLQ=', NULL, false, 'pbkdf2old', '', '', 'pbkdf2old@example.org', false, true, '2026-12-07 06:20:38.932527+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (3, 'pbkdf2_sha1$1000$NkRMsfr3YEW1uqexUSLWsr$zVsD5vkKC/UgQ+PJa0dy79YQ33M=', NULL, false, 'sha1pbkdf2', '', '', 'sha1pbkdf2@example.org', false, true, '2026-12-07 06:20:40.256085+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (4, 'argon2$argon2id$v=19$m=102400,t=2,p=8$MWV5VVFXRFNXRFBia3M5cHNaeFllVg$TwZMkRSAZJ+ARL9FmkC6XQ', NULL, false, 'argonid', '', '', 'argonid@example.org', false, true, '2026-12-07 06:20:40.279358+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (5, 'argon2$argon2i$v=19$m=1024,t=2,p=2$aWlVWXFvN1l6T0ZqbFNvbURmS2ZTZQ$OSwSVfrjArZTS2Jncwu/2g', NULL, false, 'argoni', '', '', 'argoni@example.org', false, true, '2026-12-07 06:20:45.441891+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (6, 'bcrypt_sha256$$2b$12$Y4l11bP7GDgBMcriTk0xsuB0VqPkJbtsJK4w0q8MB76qWV69gbzX.', NULL, false, 'bcryptsha', '', '', 'bcryptsha@example.org', false, true, '2026-12-07 06:20:45.546472+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (7, 'bcrypt$$2b$05$Ds23w8ARrfM743Qqc8JcLugeSMKRMvjMW6uRTwDzpJw3PzEb1mLdy', NULL, false, 'bcryptplain', '', '', 'bcryptplain@example.org', false, true, '2026-12-07 06:20:49.008922+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (8, 'bcrypt$$2b$05$toHZMqTuKUf2KMFjpdPFnuTTliSLgy3HCKxItN9slm9JiOcWQE.Ve', NULL, false, 'bcryptlong', '', '', 'bcryptlong@example.org', false, true, '2026-12-07 06:20:49.045373+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (9, 'scrypt$16384$ZsCNq62jeR4gGU5hkZxHlu$8$1$EbnfhEoYhQsBw1tt2Mhg8m4IAxmbzY50PHK6PbIb8w2G/Q9svrA2Vxo4scGCqyCr88SwUJpcfksKTEvUcjPJuQ==', NULL, false, 'scryptuser', '', '', 'scryptuser@example.org', false, true, '2026-12-07 06:20:49.083176+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (10, 'md5$oWv6wPoR57hvExMTWBoygw$96d8712bab30c947868415cbdb930037', NULL, false, 'md5user', '', '', 'md5user@example.org', false, true, '2026-12-07 06:20:49.939987+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (11, 'crypt$$AI0S7ID5PFTts', NULL, false, 'cryptuser', '', '', 'cryptuser@example.org', false, true, '2026-12-07 06:20:49.962948+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (12, 'sha1$$4b6758d0dfb545b7369b53c69733900fb62f465e', NULL, false, 'unsalted', '', '', 'unsalted@example.org', false, true, '2026-12-07 06:20:50.03198+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (13, '!jUdIo08Dq87JtoD8GytxYXLaufsqSkEQGClhuk8S', NULL, false, 'nopass', '', '', 'nopass@example.org', false, true, '2026-12-07 06:20:50.061615+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (14, 'pbkdf2_sha256$1000$hdfgolbA6A7Usd5sQhLuWh$B+wrprEHVAn1josfq0usqRt67vysWxu4nCejs23Z13U=', NULL, false, 'inactive', '', '', 'inactive@example.org', false, false, '2026-12-07 06:20:50.084047+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (15, 'pbkdf2_sha256$1000$dhCHM9ng40ArSpggmxZaYe$71cF2YSFKsY3AlRO7/e7PKQfm7J5i9dPvK+J9bvePMU=', NULL, false, 'staffer', '', '', 'staffer@example.org', true, true, '2026-12-07 06:20:50.124011+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (16, 'argon2$argon2id$v=19$m=1024,t=1,p=2$d2t4WW05MU9JRmVWaUx2WjFEUVh4Wg$66gVSaFtrF96Wd6rfFd2aw', NULL, true, 'root', '', '', 'root@example.org', true, true, '2026-12-07 06:20:50.152021+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (17, 'pbkdf2_sha256$1000$XAM4fvEDVdShp04xRyi2u6$F2kDdsEG5JcElKYL1xsI4zAVw/is4YQofzE0iPBbuX0=', NULL, false, 'jo', 'Jo', 'Ng', 'jo@example.org', false, true, '2026-12-07 06:20:50.235769+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (18, 'pbkdf2_sha256$1000$fLaTiQjHP03iIfqFospLGM$JtmiE+FqlN5eOyUX94DmHVy8pWc2BsPK2Z6k1fduAoU=', NULL, false, 'carol', '', '', 'carol@example.org', false, true, '2026-12-07 06:20:50.262216+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (19, 'pbkdf2_sha256$1000$7Qrnq1lMHlrDaxp17nZjsV$olvO7CID+ZB34e0Y8NF65IWCV9sOMQmkMgZuKDsOSck=', NULL, false, 'carol2', '', '', 'Carol@example.org', false, true, '2026-12-07 06:20:50.288069+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (20, 'pbkdf2_sha256$1000$b30CynEZzDwbHkTYbAGloe$1TtVOYnuWlcaoY0qP63JvBmY2W2MSy8etGenxhI/g6c=', NULL, false, 'Dave', '', '', 'dave@example.org', false, true, '2026-12-07 06:20:50.312044+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (21, 'pbkdf2_sha256$1000$Gck6oBR1F8o3nBTPTJ0K12$78K2wrkXESU730AyMOdPfHd9fm1ENvERFy1ol5Mr2O8=', NULL, false, 'dave', '', '', 'dave2@example.org', false, true, '2026-12-07 06:20:50.352046+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (22, 'pbkdf2_sha256$1000$TZzCQARlshzUszFIVpQoY0$PPttXNfSKtii+4abW4lUCgDw3NehL3f6ZCmJ2cAht9U=', NULL, false, 'zoë', '', '', 'zoe@example.org', false, true, '2026-12-07 06:20:50.408098+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (23, 'pbkdf2_sha256$1000$CeJSUDjVTq7qiSscgeEkXi$M4/yACw2DSYq4uq+7qKLTeqzm4oEaEJMKsukk0vjT9Q=', NULL, false, 'noemail', '', '', '', false, true, '2026-12-07 06:20:50.448653+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (24, 'pbkdf2_sha256$12x$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', NULL, false, 'badcount', '', '', 'badcount@example.org', false, true, '2026-12-07 06:20:50.500643+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (25, 'pbkdf2_sha256$1000$salt$not*base64', NULL, false, 'badb64', '', '', 'badb64@example.org', false, true, '2026-12-07 06:20:50.509431+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (26, 'pbkdf2_sha256$2000000000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', NULL, false, 'absurd', '', '', 'absurd@example.org', false, true, '2026-12-07 06:20:50.532139+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (27, 'pbkdf2_sha256$1000$WedjkSrIuGUnDkWKDfUTcF$gkbCIO+4duHZQrcK3EYnMbAc5pLDj85rpS3tNkmMdtw=', NULL, false, 'verified', '', '', 'verified@example.org', false, true, '2026-12-07 06:20:50.541595+00', true);


--
-- Name: authentication_user_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.authentication_user_id_seq', 27, true);


--
-- Name: authentication_user authentication_user_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.authentication_user
    ADD CONSTRAINT authentication_user_pkey PRIMARY KEY (id);


--
-- Name: authentication_user authentication_user_username_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.authentication_user
    ADD CONSTRAINT authentication_user_username_key UNIQUE (username);


--
-- Name: authentication_user_username_a09a089e_like; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX authentication_user_username_a09a089e_like ON public.authentication_user USING btree (username varchar_pattern_ops);


--
-- PostgreSQL database dump complete
--


