// The browser client's scenarios, in headless Chromium (Debian's package,
// driven by playwright-core: no browser download). e2e/browser_test.go
// starts the stack and runs this file with node --test:
//   GATEWAY_URL     the test gateway (plays Kong: /auth/* to the real issuer,
//                   /patients through the real plugin binary)
//   CONTROL_URL     GET /requests: what the gateway answered, in order
//   PAGE_ORIGIN     serves app.html and /dist/ (the built client); the only
//                   origin the issuer and the gateway's CORS allow
//   FOREIGN_ORIGIN  another origin of the same site (localhost, other port)
//   CHROMIUM        the browser binary
// One browser, one context (its pages are the tabs of one origin).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this file through e2e/browser_test.go (make test)`);
  return v;
};
const GW = env("GATEWAY_URL");
const CONTROL = env("CONTROL_URL");
const PAGE = env("PAGE_ORIGIN");
const FOREIGN = env("FOREIGN_ORIGIN");
const COOKIE = "medinsights_refresh";
const PROTECTED = `${GW}/patients/me`;

const user = `web-${Math.random().toString(36).slice(2, 10)}`;
const password = "correct horse battery staple";

let browser, context, A, B;
// The pages' clock: fixed, and moved past an access token's expiry when a
// scenario needs it expired (the issuer and the gateway keep real time).
let now = Date.now();

before(async () => {
  browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  context = await browser.newContext();
  const r = await api("/auth/register/", { username: user, email: `${user}@example.org`, password });
  assert.equal(r.status, 201, "register the test user");
});

after(async () => {
  await browser?.close();
});

/** A call to the auth API from outside the browser (another device). */
async function api(path, body, bearer) {
  const headers = { "Content-Type": "application/json" };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const res = await fetch(GW + path, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function entries() {
  return (await fetch(`${CONTROL}/requests`)).json();
}

const refreshesOf = (log) => log.filter((e) => e.method === "POST" && e.path.startsWith("/auth/refresh"));

async function openApp(query = "mode=cookie") {
  const page = await context.newPage();
  await page.goto(`${PAGE}/app.html?${query}&base=${encodeURIComponent(`${GW}/auth`)}`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

/** A protected call through the client of page; status and body. */
function call(page) {
  return page.evaluate(async (url) => {
    const r = await auth.fetch(url);
    return { status: r.status, body: await r.text() };
  }, PROTECTED);
}

async function refreshCookie() {
  return (await context.cookies(GW)).find((c) => c.name === COOKIE);
}

async function moveClockPastExpiry() {
  now += 16 * 60 * 1000; // access tokens live 15 minutes
  await context.clock.setFixedTime(now);
}

test("login, then a protected call", async () => {
  A = await openApp();
  const u = await A.evaluate(([n, p]) => auth.login(n, p), [user, password]);
  assert.equal(u.username, user);
  const r = await call(A);
  assert.equal(r.status, 200, r.body);
  assert.equal(JSON.parse(r.body).user_id, u.id, "the upstream got the caller's id from the plugin");
});

test("document.cookie never shows the refresh token", async () => {
  const c = await refreshCookie();
  assert.ok(c, "the refresh cookie is in the browser's jar");
  assert.deepEqual([c.httpOnly, c.secure, c.sameSite], [true, true, "Strict"]);
  const device = (await context.cookies(GW)).find((d) => d.name === "medinsights_device");
  assert.equal(device?.httpOnly, true, "the device token is an HttpOnly cookie too");
  const seen = await A.evaluate(() => document.cookie);
  assert.ok(!seen.includes("medinsights_") && !seen.includes(c.value) && !seen.includes(device.value), `document.cookie = ${seen}`);
});

test("10 concurrent calls with an expired access token: exactly 1 refresh", async () => {
  await moveClockPastExpiry();
  const since = (await entries()).length;
  const statuses = await A.evaluate(
    (url) => Promise.all(Array.from({ length: 10 }, () => auth.fetch(url).then((r) => r.status))),
    PROTECTED,
  );
  assert.deepEqual(statuses, Array(10).fill(200));
  const refreshes = refreshesOf((await entries()).slice(since));
  assert.deepEqual(refreshes.map((e) => e.status), [200], "one refresh request");
});

test("two tabs refreshing at once: 1 refresh, no reuse detection, both go on", async () => {
  B = await openApp();
  assert.equal((await B.evaluate(() => auth.restore()))?.username, user, "a new tab picks up the session");
  await moveClockPastExpiry();
  // Both tabs wait for one signal, then call at the same moment.
  for (const p of [A, B]) {
    await p.evaluate(() => {
      window.go = new Promise((resolve) => {
        new BroadcastChannel("go").onmessage = () => resolve();
      });
    });
  }
  const since = (await entries()).length;
  const both = Promise.all([A, B].map((p) => p.evaluate(async (url) => (await window.go, (await auth.fetch(url)).status), PROTECTED)));
  await A.evaluate(() => new BroadcastChannel("go").postMessage("go"));
  assert.deepEqual(await both, [200, 200]);
  const log = (await entries()).slice(since);
  assert.deepEqual(refreshesOf(log).map((e) => e.status), [200], "one refresh request, not refused as a reuse");
  // Both go on, each with the one new token.
  assert.deepEqual([(await call(A)).status, (await call(B)).status], [200, 200]);
  const [ta, tb] = await Promise.all([A, B].map((p) => p.evaluate(() => auth.getAccessToken())));
  assert.equal(ta, tb);
});

test("reload in cookie mode: still signed in", async () => {
  await A.reload();
  await A.waitForFunction(() => window.ready === true);
  assert.equal(await A.evaluate(() => auth.user), null, "nothing survives in the page");
  assert.equal((await A.evaluate(() => auth.restore()))?.username, user);
  assert.equal((await call(A)).status, 200);
});

test("a page on a foreign origin cannot refresh or log out", async () => {
  const before = await refreshCookie();
  const F = await context.newPage();
  await F.goto(`${FOREIGN}/foreign.html`);
  const since = (await entries()).length;
  // With the proof header the browser asks first, and the gateway's CORS
  // answer does not name this origin: the request is never sent.
  const withHeader = await F.evaluate(async (gw) => {
    const out = [];
    for (const path of ["/auth/refresh/", "/auth/logout/"]) {
      try {
        await fetch(gw + path, { method: "POST", credentials: "include", headers: { "Content-Type": "application/json", "X-MedInsights-CSRF": "1" }, body: '{"session_mode":"cookie"}' });
        out.push("sent");
      } catch (e) {
        out.push(e.name);
      }
    }
    return out;
  }, GW);
  assert.deepEqual(withHeader, ["TypeError", "TypeError"]);
  // Without it the browser sends at once, with the cookie (same site):
  // the issuer refuses.
  await F.evaluate(async (gw) => {
    for (const path of ["/auth/refresh/", "/auth/logout/"]) {
      await fetch(gw + path, { method: "POST", mode: "no-cors", credentials: "include", headers: { "Content-Type": "text/plain" }, body: '{"session_mode":"cookie"}' });
    }
  }, GW);
  // And a cross-site form.
  await Promise.all([
    F.waitForURL(`${GW}/auth/refresh/`),
    F.evaluate((gw) => {
      const form = Object.assign(document.createElement("form"), { method: "POST", action: `${gw}/auth/refresh/`, enctype: "text/plain" });
      form.append(Object.assign(document.createElement("input"), { name: '{"session_mode":"cookie","x":"', value: '"}' }));
      document.body.append(form);
      form.submit();
    }, GW),
  ]);
  const foreign = (await entries()).slice(since).filter((e) => e.origin === FOREIGN);
  const sent = foreign.filter((e) => e.method === "POST").map((e) => `${e.path} ${e.status} ${e.code} cookie=${e.cookie}`);
  assert.deepEqual(sent, [
    "/auth/refresh/ 403 csrf_check_failed cookie=true",
    "/auth/logout/ 401 authentication_required cookie=true",
    "/auth/refresh/ 403 csrf_check_failed cookie=true",
  ]);
  await F.close();
  assert.equal((await refreshCookie())?.value, before.value, "the session cookie is untouched");
  assert.equal((await call(A)).status, 200, "the session goes on");
});

test("logout in tab A logs out tab B", async () => {
  await B.evaluate(() => (window.events.length = 0));
  await A.evaluate(() => auth.logout());
  await B.waitForFunction(() => window.events.includes("logout"));
  assert.equal(await B.evaluate(() => auth.user), null);
  const since = (await entries()).length;
  assert.equal(await B.evaluate(() => auth.getAccessToken()), null);
  assert.deepEqual(refreshesOf((await entries()).slice(since)), [], "a logged-out tab does not try to refresh");
  assert.equal(await refreshCookie(), undefined, "the logout cleared the cookie");
  // A tab opened now finds no session, quietly.
  const C = await openApp();
  assert.equal(await C.evaluate(() => auth.restore()), null);
  assert.deepEqual(await C.evaluate(() => window.events), []);
  await C.close();
});

test("an access token revoked by logout-all elsewhere is refused at the gateway, and the client ends the session", async () => {
  await A.evaluate(([n, p]) => auth.login(n, p), [user, password]);
  await B.waitForFunction(() => auth.user !== null); // the login reached the other tab
  // Another device of the same user ends every session.
  const other = await api("/auth/login/", { username: user, password });
  assert.equal(other.status, 200);
  assert.equal((await api("/auth/logout-all/", undefined, other.json.access_token)).status, 204);
  // The gateway has the revocation once it refuses the other device's token,
  // revoked in the same statement.
  for (const deadline = Date.now() + 10_000; ; ) {
    const r = await fetch(PROTECTED, { headers: { Authorization: `Bearer ${other.json.access_token}` } });
    if (r.status === 401) break;
    assert.ok(Date.now() < deadline, `the gateway still answers ${r.status} for a revoked token`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await A.evaluate(() => (window.events.length = 0));
  const since = (await entries()).length;
  const r = await call(A);
  assert.equal(r.status, 401, "the gateway's refusal is returned");
  const seen = (await entries()).slice(since).filter((e) => e.origin === PAGE && e.method !== "OPTIONS");
  assert.deepEqual(seen.map((e) => `${e.method} ${e.path} ${e.status} ${e.code ?? ""}`), [
    "GET /patients/me 401 invalid_token",
    "POST /auth/refresh/ 401 invalid_grant",
  ]);
  assert.deepEqual(await A.evaluate(() => window.events), ["logout"]);
  assert.equal(await A.evaluate(() => auth.user), null);
  await B.waitForFunction(() => auth.user === null);
  // Never loops: the next call goes out without a token and without a refresh.
  const again = (await entries()).length;
  assert.equal((await call(A)).status, 401);
  assert.deepEqual(refreshesOf((await entries()).slice(again)), []);
  assert.equal(await refreshCookie(), undefined, "the refused refresh cleared the cookie");
});

test("memory mode: no cookie, one refresh for many calls, sessionStorage only when asked", async () => {
  const M = await openApp("mode=memory&storage=sessionStorage");
  await M.evaluate(([n, p]) => auth.login(n, p), [user, password]);
  assert.equal(await refreshCookie(), undefined, "memory mode sets no cookie");
  assert.equal((await call(M)).status, 200);
  await moveClockPastExpiry();
  const since = (await entries()).length;
  const statuses = await M.evaluate((url) => Promise.all(Array.from({ length: 5 }, () => auth.fetch(url).then((r) => r.status))), PROTECTED);
  assert.deepEqual(statuses, Array(5).fill(200));
  const refreshes = refreshesOf((await entries()).slice(since));
  assert.deepEqual(refreshes.map((e) => `${e.status} cookie=${e.cookie}`), ["200 cookie=false"]);
  await M.reload();
  await M.waitForFunction(() => window.ready === true);
  assert.equal((await M.evaluate(() => auth.restore()))?.username, user, "sessionStorage kept the session");
  await M.evaluate(() => auth.logout());
  assert.equal(await M.evaluate(() => sessionStorage.length), 0, "logout empties sessionStorage");
  await M.close();
});

test("failures are typed: refused, network, server (503 with Retry-After, not retried at once)", async () => {
  const M = await openApp("mode=memory");
  const failure = (fn, arg) =>
    M.evaluate(
      async ([src, a]) => {
        try {
          await (0, eval)(src)(a);
          return "no error";
        } catch (e) {
          return { isAuthError: e instanceof AuthError, kind: e.kind, status: e.status, code: e.code, retryAfter: e.retryAfter ?? null };
        }
      },
      [fn.toString(), arg],
    );
  assert.deepEqual(await failure((a) => auth.login(a, "wrong password"), user), {
    isAuthError: true, kind: "refused", status: 401, code: "invalid_credentials", retryAfter: null,
  });
  assert.deepEqual(await failure(async () => {
    const { createAuthClient } = await import("/dist/index.js");
    await createAuthClient({ baseUrl: "http://localhost:9/auth", mode: "memory" }).login("x", "y");
  }), { isAuthError: true, kind: "network", status: 0, code: "", retryAfter: null });

  // The issuer overloaded: the browser answers the refresh with a 503.
  await M.evaluate(([n, p]) => auth.login(n, p), [user, password]);
  let asked = 0;
  await M.route(`${GW}/auth/refresh/`, (route) => {
    asked++;
    return route.fulfill({
      status: 503,
      headers: { "Content-Type": "application/problem+json", "Retry-After": "30", "Access-Control-Allow-Origin": PAGE, "Access-Control-Expose-Headers": "Retry-After" },
      body: JSON.stringify({ status: 503, code: "service_unavailable" }),
    });
  });
  await moveClockPastExpiry();
  const overloaded = { isAuthError: true, kind: "server", status: 503, code: "service_unavailable", retryAfter: 30 };
  assert.deepEqual(await failure(() => auth.getAccessToken()), overloaded);
  assert.deepEqual(await failure(() => auth.getAccessToken()), overloaded);
  assert.equal(asked, 1, "no second refresh before Retry-After");
  assert.notEqual(await M.evaluate(() => auth.user), null, "a 503 does not end the session");
  await M.close();
});
