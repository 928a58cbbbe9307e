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

INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (1, 'pbkdf2_sha256$720000$3P8pl134lgkafuq9NELc1t$CwtFaoyMK5YgOchzMretTDzga+RgkTxukxQAc+D+sKU=', NULL, false, 'pbkdf2user', '', '', 'pbkdf2user@example.org', false, true, '2026-12-07 06:15:43.579066+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (2, 'pbkdf2_sha256$260000$PrTXpnQ4etEJQGz8EmIm39$eqNbDC+UgK1veUIA5zz/MvLUxZuYWOPjh9y9d0AKu58=', NULL, false, 'pbkdf2old', '', '', 'pbkdf2old@example.org', false, true, '2026-12-07 06:15:46.395871+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (3, 'pbkdf2_sha1$1000$P8vxc9pcnMvKsToNWIfrsr$D7/MC8uJmRhijuvA2A3PlEcLWIM=', NULL, false, 'sha1pbkdf2', '', '', 'sha1pbkdf2@example.org', false, true, '2026-12-07 06:15:47.468299+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (4, 'argon2$argon2id$v=19$m=102400,t=2,p=8$eUZnaXZGcVFiWUlBQm5VNWF5OGY0bA$Gr9wWo1VTgm8z967q9JZyg', NULL, false, 'argonid', '', '', 'argonid@example.org', false, true, '2026-12-07 06:15:47.488147+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (5, 'argon2$argon2i$v=19$m=1024,t=2,p=2$dVoxRlRGZFVXam1lTzcwYXRrT1l1aQ$GcxrThBk68FQHNJVqEzT4A', NULL, false, 'argoni', '', '', 'argoni@example.org', false, true, '2026-12-07 06:15:49.786032+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (6, 'bcrypt_sha256$$2b$12$oyTBFu4LeUeYVqUq8PzwXuR4NgCMIo56rLuoRtDf5H4XOBajlDxf.', NULL, false, 'bcryptsha', '', '', 'bcryptsha@example.org', false, true, '2026-12-07 06:15:49.807473+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (7, 'bcrypt$$2b$12$Kvj4IY6s8JXIWh.PVwx98.itaGgc8BEuvfF8C2AAjsqSvJHMHQCAW', NULL, false, 'bcryptplain', '', '', 'bcryptplain@example.org', false, true, '2026-12-07 06:15:51.244022+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (8, 'bcrypt$$2b$12$hbBc6Ur2BsM7HifaEf.42e0pXv3hRyiBgFO8jlyA2JE4rp4q2QbDy', NULL, false, 'bcryptlong', '', '', 'bcryptlong@example.org', false, true, '2026-12-07 06:15:52.589522+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (9, 'scrypt$16384$YqV9UR1PsDxCLvSIUgvRlk$8$1$YzGOPt4gtqzI2P3dqRUrzD0AHZkHQtV85AP/5W9RARAelFrXEpluE0zRg0PukkOUGrVLLYr4xkUwlVWnjchUjQ==', NULL, false, 'scryptuser', '', '', 'scryptuser@example.org', false, true, '2026-12-07 06:15:54.125983+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (10, 'md5$SPAJIgyjbfIgYHV3t18QT3$de3fa2cd95818af765e2d3750c10febc', NULL, false, 'md5user', '', '', 'md5user@example.org', false, true, '2026-12-07 06:15:54.463907+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (11, 'crypt$$n1igWNP3cUOwY', NULL, false, 'cryptuser', '', '', 'cryptuser@example.org', false, true, '2026-12-07 06:15:54.466316+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (12, 'sha1$$4b6758d0dfb545b7369b53c69733900fb62f465e', NULL, false, 'unsalted', '', '', 'unsalted@example.org', false, true, '2026-12-07 06:15:54.492407+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (13, '!eFDZJaFUqMbYmEb7Du7duNAyJUvJu6pYv7kMdyxs', NULL, false, 'nopass', '', '', 'nopass@example.org', false, true, '2026-12-07 06:15:54.499929+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (14, 'pbkdf2_sha256$1000$8QRPVtK2Sk3l2VbTKLPZzq$pfxiTTxsUzeKEgHeS0vyIRNl1W8NJZZODyZI2aoOIWA=', NULL, false, 'inactive', '', '', 'inactive@example.org', false, false, '2026-12-07 06:15:54.505497+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (15, 'pbkdf2_sha256$1000$ITDrOyzYRyOvpXCtPkhvmP$FHkGIvrYbEr/XGhBZ4W8Y03g5cS8T2NS5rFVB/RNdz4=', NULL, false, 'staffer', '', '', 'staffer@example.org', true, true, '2026-12-07 06:15:54.515632+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (16, 'argon2$argon2id$v=19$m=1024,t=1,p=2$Nm9ISkFPMm5INmZTcEN4ZnVMMGMzOA$MaC+QdYWAlp2vKsfw90Bng', NULL, true, 'root', '', '', 'root@example.org', true, true, '2026-12-07 06:15:54.523907+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (17, 'pbkdf2_sha256$1000$LpFcimWhGyysF5bnvIQBEF$whtz4gc5OOJcRPM9eKcyvxxmGb2GVT5UckY/UYu0kcU=', NULL, false, 'jo', 'Jo', 'Ng', 'jo@example.org', false, true, '2026-12-07 06:15:54.540072+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (18, 'pbkdf2_sha256$1000$5Z5nQtawE6E2CPfYDeSKQf$wbXhF5ODk0yiKIm9WF0cJn794b6vkvsU7RUJSI2h/aE=', NULL, false, 'carol', '', '', 'carol@example.org', false, true, '2026-12-07 06:15:54.544185+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (19, 'pbkdf2_sha256$1000$ZPI4qFQesbpzLxNErc171n$MkVE5gViuKq/T/yGKxQ4DZxDIUqAhmtfsVVbAYZFOOk=', NULL, false, 'carol2', '', '', 'Carol@example.org', false, true, '2026-12-07 06:15:54.56031+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (20, 'pbkdf2_sha256$1000$IBF7wU8Nm5VHaK7iMxuvVv$foioo2wNZf1Ey3WSyHVOd8zccC67FBDZhDAVsmobLNY=', NULL, false, 'Dave', '', '', 'dave@example.org', false, true, '2026-12-07 06:15:54.584737+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (21, 'pbkdf2_sha256$1000$faIRtOkkbehCbSDWPIb186$hyrv5EvSOBOFPeBu2iWgF1kPCGxGJVDuWljl1cWpUjE=', NULL, false, 'dave', '', '', 'dave2@example.org', false, true, '2026-12-07 06:15:54.612221+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (22, 'pbkdf2_sha256$1000$AQbKKtfa9v59s7aDT6hcc1$Ia7SOweHf8pIc+RbD+DahuuOQBY3u5vcofLAZ2rA9OQ=', NULL, false, 'zoë', '', '', 'zoe@example.org', false, true, '2026-12-07 06:15:54.630384+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (23, 'pbkdf2_sha256$1000$T2CsDx3a5wEterLAi7UUqV$YI5HzdZ/cieyL7IrZ4+38SeDPIFuXvJTFjuiOrWyHY8=', NULL, false, 'noemail', '', '', '', false, true, '2026-12-07 06:15:54.644027+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (24, 'pbkdf2_sha256$12x$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', NULL, false, 'badcount', '', '', 'badcount@example.org', false, true, '2026-12-07 06:15:54.667681+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (25, 'pbkdf2_sha256$1000$salt$not*base64', NULL, false, 'badb64', '', '', 'badb64@example.org', false, true, '2026-12-07 06:15:54.670101+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (26, 'pbkdf2_sha256$2000000000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', NULL, false, 'absurd', '', '', 'absurd@example.org', false, true, '2026-12-07 06:15:54.671799+00', false);
INSERT INTO public.authentication_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified) VALUES (27, 'pbkdf2_sha256$1000$iJiKMMMp02bj5okisxWuP5$EZY2990HpbkCOOIz16LXnKDc7LU7BwmNpqNtgXuaYVQ=', NULL, false, 'verified', '', '', 'verified@example.org', false, true, '2026-12-07 06:15:54.673691+00', true);


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


