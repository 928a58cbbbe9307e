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

INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (1, 'pbkdf2_sha256$720000$VJmEOdvPIqsQa7JOD9laRX$Q82WvwduGYOB9ef+sVsT2KJX5rInlzMIyR5b1c2Z4TA=', NULL, false, 'pbkdf2user', '', '', 'pbkdf2user@example.org', false, true, '2026-12-07 06:43:11.252086+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (2, 'pbkdf2_sha256$260000$2b7GTbxxUVtyKDbYdx0BA4$dEv5wkjkfsY+GDCfmQUHpgmwy6TlbGXRWkMXJYv2hT0=', NULL, false, 'pbkdf2old', '', '', 'pbkdf2old@example.org', false, true, '2026-12-07 06:43:16.056114+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (3, 'pbkdf2_sha1$1000$Q7cX6hWVMyDB1lfsbMgnWJ$gPjsdttnebOFb8TKDe5EWE25opA=', NULL, false, 'sha1pbkdf2', '', '', 'sha1pbkdf2@example.org', false, true, '2026-12-07 06:43:18.741836+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (4, 'argon2$argon2id$v=19$m=102400,t=2,p=8$V0JtWVF5YmxscGREY0QzS09pRWk1Yw$NwR6Z5BEvKeEqTz9n+niLw', NULL, false, 'argonid', '', '', 'argonid@example.org', false, true, '2026-12-07 06:43:18.786511+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (5, 'argon2$argon2i$v=19$m=1024,t=2,p=2$T1B1QzRqaVZxT2FtQ1htT25IQkQ2UQ$u81jKaeKILNgqr3Ssa3jGQ', NULL, false, 'argoni', '', '', 'argoni@example.org', false, true, '2026-12-07 06:43:23.785925+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (6, 'bcrypt_sha256$$2b$12$nelFRNMxiHkNlul8tqbZBO6/AZ9auvTAhmcP96buE0oD4019Lvnde', NULL, false, 'bcryptsha', '', '', 'bcryptsha@example.org', false, true, '2026-12-07 06:43:23.892209+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (7, 'bcrypt$$2b$05$eDp9n.f2ZvDZg1JWNBmDUuxbIjypb8o.fKKQwJOY1hUQFLrT3IqGG', NULL, false, 'bcryptplain', '', '', 'bcryptplain@example.org', false, true, '2026-12-07 06:43:28.30426+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (8, 'bcrypt$$2b$05$QCn/Yum/d5OENbaYcAYlcevF33j/iNcJgZGhkhZm1dQZf80rkD1QW', NULL, false, 'bcryptlong', '', '', 'bcryptlong@example.org', false, true, '2026-12-07 06:43:28.376437+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (9, 'scrypt$16384$63kq3DQ1uadI1AlAyjLc22$8$1$G4U/RzEendSh17uHMe3e8J1TAMKDIYnfdhFSa26mIurCX83YgPPG8IpNj/JkLciu3/QY81a/wEltfI46mwjVUw==', NULL, false, 'scryptuser', '', '', 'scryptuser@example.org', false, true, '2026-12-07 06:43:28.460041+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (10, 'md5$t4B5JAo2TGot1zl7qYkIxg$478b3069c1b25e334a913fb0520f81bd', NULL, false, 'md5user', '', '', 'md5user@example.org', false, true, '2026-12-07 06:43:29.578173+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (11, 'crypt$$3BhYPx.5.CHTY', NULL, false, 'cryptuser', '', '', 'cryptuser@example.org', false, true, '2026-12-07 06:43:29.618248+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (12, 'sha1$$4b6758d0dfb545b7369b53c69733900fb62f465e', NULL, false, 'unsalted', '', '', 'unsalted@example.org', false, true, '2026-12-07 06:43:29.745214+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (13, '!x860BraqnTaJa4rhFbun6tRqxk5jHfyGiMdYQPTE', NULL, false, 'nopass', '', '', 'nopass@example.org', false, true, '2026-12-07 06:43:29.776336+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (14, 'pbkdf2_sha256$1000$Igw0h0azBPXQ1ZQl32uwYY$DuvY8yGrREdjdbBK6LCqpPnZQ+N6cB9CfMsMRq3UfnE=', NULL, false, 'inactive', '', '', 'inactive@example.org', false, false, '2026-12-07 06:43:29.785572+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (15, 'pbkdf2_sha256$1000$MIx2lhVPHj6QU4KATESaJP$OQ6JKI4AcvwGIH4zLSNQ9QmP/4tYZ6VMD8xfppKfRwU=', NULL, false, 'staffer', '', '', 'staffer@example.org', true, true, '2026-12-07 06:43:29.813637+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (16, 'argon2$argon2id$v=19$m=1024,t=1,p=2$c09jbTRwYXRObWs0ZnZVU1I0OWt6Wg$WAIg4sIx433XznKeRf1new', NULL, true, 'root', '', '', 'root@example.org', true, true, '2026-12-07 06:43:29.831357+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (17, 'pbkdf2_sha256$1000$fLT6rEyUbI0X4X8vCF7VOS$Qxj9eS4dydVEWdftaN8wl00Rlb4/duLI7cXsYLPNXXc=', NULL, false, 'jo', 'Jo', 'Ng', 'jo@example.org', false, true, '2026-12-07 06:43:29.868143+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (18, 'pbkdf2_sha256$1000$pyLaa4MXcMWcxBR3iMfu7S$0UFFx1qW5sMlWoY4DnfjAqcMiKALVkhSlBoIqofZ1Sg=', NULL, false, 'carol', '', '', 'carol@example.org', false, true, '2026-12-07 06:43:29.906532+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (19, 'pbkdf2_sha256$1000$bi2QqQol4OctSpeWm8iXQ0$ilizaKzlimJ+xsjRSw0yJyitwuYaDtGs9boK0vj/OsY=', NULL, false, 'carol2', '', '', 'Carol@example.org', false, true, '2026-12-07 06:43:29.972898+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (20, 'pbkdf2_sha256$1000$alzpWHPld5OnXDTBOqHlct$BeR2iwgp8aSIXpHyHv9bc2BozPuvmqB9//wFm3KB9t0=', NULL, false, 'Dave', '', '', 'dave@example.org', false, true, '2026-12-07 06:43:30.001502+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (21, 'pbkdf2_sha256$1000$3iGihT1Y7cyhb9bVaMhOIv$P8yRfkVQaAO/ds5q3BJBFuwGQ4XbYQwJ4r8IiYsN3TE=', NULL, false, 'dave', '', '', 'dave2@example.org', false, true, '2026-12-07 06:43:30.053269+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (22, 'pbkdf2_sha256$1000$FgtbSnBQnM0BZYpQTI8oNQ$tt7a9H5WcFGz/GoTBuCOGSpCp4V5Se9gD/gc2ByICMk=', NULL, false, 'zoë', '', '', 'zoe@example.org', false, true, '2026-12-07 06:43:30.085969+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (23, 'pbkdf2_sha256$1000$RmOg2QrGr5EX7Ibv53OUeO$su1ne5zibyUkjvYJxajKnO+dg/3xo+gCIG/LvMa08aA=', NULL, false, 'noemail', '', '', '', false, true, '2026-12-07 06:43:30.140195+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (24, 'pbkdf2_sha256$12x$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', NULL, false, 'badcount', '', '', 'badcount@example.org', false, true, '2026-12-07 06:43:30.188067+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (25, 'pbkdf2_sha256$1000$salt$not*base64', NULL, false, 'badb64', '', '', 'badb64@example.org', false, true, '2026-12-07 06:43:30.216154+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (26, 'pbkdf2_sha256$2000000000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', NULL, false, 'absurd', '', '', 'absurd@example.org', false, true, '2026-12-07 06:43:30.235385+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (27, 'pbkdf2_sha256$1000$tLmJ2fCyzQrNA3j5RqiSXN$ug7pHvImZfGsFprwm7eoldMbuNl8IUay/ynd+hft2No=', NULL, false, 'verified', '', '', 'verified@example.org', false, true, '2026-12-07 06:43:30.268892+00', true);


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


