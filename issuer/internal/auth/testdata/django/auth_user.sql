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

INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (1, 'pbkdf2_sha256$720000$XgYqeOMgCtaPhLFhms5NLp$yrCPfcOXwuFHT+MwRV54enyaeXimctw4B+0FsWGfvhY=', NULL, false, 'pbkdf2user', '', '', 'pbkdf2user@example.org', false, true, '2026-12-07 06:21:01.696218+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (2, 'argon2$argon2id$v=19$m=102400,t=2,p=8$anpiTkNuTG9mQkRUcXNhRUUwQ0FiUg$7Wawv4MC7V8SkfAeBMmb6g', NULL, false, 'argonid', '', '', 'argonid@example.org', false, true, '2026-12-07 06:21:06.45167+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (3, 'bcrypt_sha256$$2b$12$8ACWBZ/H7KCp6OqBfuYK2us5v5lNm7aTnSh7ZEpbExgLK3e.BCCKe', NULL, false, 'bcryptsha', '', '', 'bcryptsha@example.org', false, true, '2026-12-07 06:21:11.697486+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (4, '!uQAz8RNpqeonZ4lCq9s1NFm2yOEmlO7eztdALVFb', NULL, false, 'nopass', '', '', 'nopass@example.org', false, true, '2026-12-07 06:21:15.036216+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (5, 'pbkdf2_sha256$1000$twI56yBd3HVue2Fvtu8cZe$QdDU/Rsol7Xz76ykoE5g7glFwoO5uR/YsbZo/t+BSKw=', NULL, false, 'inactive', '', '', 'inactive@example.org', false, false, '2026-12-07 06:21:15.05079+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (6, 'pbkdf2_sha256$1000$DnQZRBrZrU4Nw3na8PAkrs$e7Q+kWD4wuWBadrEI9dx8P8d0MlVTdg1n3uwJ1hsy1s=', NULL, false, 'staffer', '', '', 'staffer@example.org', true, true, '2026-12-07 06:21:15.078298+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (7, 'argon2$argon2id$v=19$m=1024,t=1,p=2$MFd2QWM5UTFWRHZsQTFjSW9zVUM1cQ$l+dfK3QNVnAtsiS8PqJrOA', NULL, true, 'root', '', '', 'root@example.org', true, true, '2026-12-07 06:21:15.100452+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (8, 'pbkdf2_sha256$1000$jqMzCaKU2ExROiW4UFFs95$+CIIdPkgHjP5B+eOmMtL/mPEhcfADjYBiEq2JlGDfzc=', NULL, false, 'jo', 'Jo', 'Ng', 'jo@example.org', false, true, '2026-12-07 06:21:15.140833+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (9, 'pbkdf2_sha256$1000$2DSyfXqUXtepgkjRqyouX4$nWi9mTy2rPs6U4f8aoyQAeI+6OLtqjYXKBIndZAkpQU=', NULL, false, 'carol', '', '', 'carol@example.org', false, true, '2026-12-07 06:21:15.174254+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (10, 'pbkdf2_sha256$1000$sYg1BH2dOpa5sGKlEFNXoi$aIjhMwF4/8sh6Yr2Pn4pcJJR4xo+RfJ32hHjEoZ1jAQ=', NULL, false, 'carol2', '', '', 'Carol@example.org', false, true, '2026-12-07 06:21:15.232521+00');
INSERT INTO public.auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (11, 'pbkdf2_sha256$1000$d1H5qe4KuC4if3gMXfdTcT$GmHe8Wow4J4fTd7D47oLc7tp7OP802v8NlSMJvy6uDk=', NULL, false, 'zoë', '', '', 'zoe@example.org', false, true, '2026-12-07 06:21:15.256273+00');


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


