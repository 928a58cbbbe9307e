import { AuthError, errorFromResponse, networkError } from "./errors.js";
import { openTabs, type TabMessage, type Tabs } from "./tabs.js";

/** A user as the issuer describes one. */
export interface User {
  id: string;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  email_verified: boolean;
  roles: string[];
  date_joined: string;
}

/** The fields of a registration. */
export interface RegisterFields {
  username: string;
  email: string;
  password: string;
  first_name?: string;
  last_name?: string;
}

/**
 * - `cookie`: the issuer keeps the refresh token in an HttpOnly cookie that
 *   no script can read; a reload keeps the session (call `restore()`), and
 *   the tabs of the origin share it.
 * - `memory`: the refresh token lives in this tab's memory, or in its
 *   sessionStorage with `storage: "sessionStorage"`.
 */
export type SessionMode = "cookie" | "memory";

export interface AuthClientOptions {
  /** The issuer's auth base, e.g. `https://api.example.org/auth` (Kong's /auth route). */
  baseUrl: string;
  mode: SessionMode;
  /** Memory mode only: keep the refresh token in sessionStorage, so a reload of the tab keeps the session. */
  storage?: "memory" | "sessionStorage";
  /** Refresh this many seconds before the access token expires (default 30, at most half its lifetime). */
  refreshMarginSeconds?: number;
}

export type AuthEventType = "login" | "refresh" | "logout";

export interface AuthEvent {
  type: AuthEventType;
  /** The user after the event; null after a logout. */
  user: User | null;
}

export interface AuthClient {
  /** The signed-in user, or null. */
  readonly user: User | null;
  register(fields: RegisterFields): Promise<User>;
  login(username: string, password: string): Promise<User>;
  logout(): Promise<void>;
  logoutAll(): Promise<void>;
  me(): Promise<User>;
  /** fetch with the access token; see the package documentation. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** A valid access token, refreshed ahead of expiry; null when signed out. */
  getAccessToken(): Promise<string | null>;
  /** Picks up an existing session (the cookie after a reload, sessionStorage); returns the user or null. */
  restore(): Promise<User | null>;
  /** Calls listener on login, refresh and logout; returns a function that stops it. */
  onChange(listener: (event: AuthEvent) => void): () => void;
  /** Stops listening to the other tabs. */
  close(): void;
}

interface TokenResponse {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  user: User;
}

interface AccessToken {
  token: string;
  expiresAt: number; // ms since the epoch, by this machine's clock
  refreshAt: number;
}

/** How long a tab that waited for another's refresh waits for its outcome to arrive. */
const handoffMs = 1000;
const csrfHeader = "X-MedInsights-CSRF";

export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new Client(options);
}

type State = "unknown" | "in" | "out";

class Client implements AuthClient {
  private readonly base: string;
  private readonly mode: SessionMode;
  private readonly marginMs: number;
  private readonly storageKey: string | undefined;
  private readonly tabs: Tabs;
  private readonly listeners = new Set<(e: AuthEvent) => void>();

  private state: State;
  private access: AccessToken | null = null;
  private refreshToken: string | null = null;
  private currentUser: User | null = null;
  /** Bumped whenever the session changes here or in another tab. */
  private version = 0;
  private inflight: Promise<void> | null = null;
  private blocked: { until: number; error: AuthError } | null = null;
  private versionWaiters: Array<() => void> = [];

  constructor(o: AuthClientOptions) {
    if (o === null || typeof o !== "object" || typeof o.baseUrl !== "string" || o.baseUrl === "") {
      throw new TypeError("createAuthClient: baseUrl is required");
    }
    if (o.mode !== "cookie" && o.mode !== "memory") {
      throw new TypeError('createAuthClient: mode must be "cookie" or "memory"');
    }
    this.base = o.baseUrl.replace(/\/+$/, "");
    this.mode = o.mode;
    this.marginMs = Math.max(0, o.refreshMarginSeconds ?? 30) * 1000;
    this.state = "out";
    if (o.mode === "cookie") {
      this.state = "unknown"; // a cookie may be there: restore() finds out
    } else if (o.storage === "sessionStorage") {
      this.storageKey = `medinsights-auth:refresh:${this.base}`;
      this.refreshToken = stored(this.storageKey);
      if (this.refreshToken) this.state = "unknown";
    }
    this.tabs = openTabs(`medinsights-auth:${this.base}`, (m) => this.fromTab(m));
  }

  get user(): User | null {
    return this.currentUser;
  }

  onChange(listener: (e: AuthEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.tabs.close();
  }

  async register(fields: RegisterFields): Promise<User> {
    const body = await this.call<{ user: User }>("/register/", { body: fields });
    return body.user;
  }

  async login(username: string, password: string): Promise<User> {
    const body = await this.call<TokenResponse>("/login/", {
      body: this.mode === "cookie" ? { username, password, session_mode: "cookie" } : { username, password },
    });
    this.adopt(body);
    return body.user;
  }

  async logout(): Promise<void> {
    if (this.state === "out") return;
    let failure: AuthError | undefined;
    try {
      const token = await this.getAccessToken();
      if (token !== null) {
        const body = this.mode === "cookie" ? { session_mode: "cookie" } : { refresh_token: this.refreshToken };
        await this.call("/logout/", { body, bearer: token });
      }
    } catch (e) {
      // A refused logout means the session had ended already.
      if (e instanceof AuthError && e.kind !== "refused") failure = e;
    }
    this.end(true);
    if (failure) throw failure;
  }

  async logoutAll(): Promise<void> {
    const token = await this.getAccessToken();
    if (token === null) throw new AuthError("refused", "Not signed in.", { status: 401, code: "authentication_required" });
    await this.call("/logout-all/", { bearer: token, body: undefined });
    this.end(true);
  }

  async me(): Promise<User> {
    const res = await this.fetch(`${this.base}/me/`);
    if (!res.ok) throw await errorFromResponse(res);
    const body = await readJSON<{ user: User }>(res);
    this.currentUser = body.user;
    return body.user;
  }

  async restore(): Promise<User | null> {
    await this.getAccessToken();
    return this.currentUser;
  }

  async getAccessToken(): Promise<string | null> {
    if (this.access && Date.now() < this.access.refreshAt) return this.access.token;
    if (this.state === "out") return null;
    try {
      await this.refresh(this.version);
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      // No session (any more): signed out, which is not an error here.
      if (e.kind === "refused" && e.code === "invalid_grant") return null;
      // Inside the margin the old token still works: use it while the
      // issuer cannot be reached.
      if (e.kind !== "refused" && this.access && Date.now() < this.access.expiresAt) return this.access.token;
      throw e;
    }
    return this.access?.token ?? null;
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const token = await this.getAccessToken();
    // A Request's body can be read once: keep a copy for the retry.
    const again = input instanceof Request ? input.clone() : input;
    const first = await this.send(input, init, token);
    if (token === null || first.status !== 401 || !invalidToken(first)) return first;
    // The gateway refused the token (revoked, or expired by its clock):
    // refresh once, unless another call did already, and retry once.
    const seen = this.access?.token === token ? this.version : -1;
    if (seen !== -1) {
      try {
        await this.refresh(seen);
      } catch (e) {
        if (e instanceof AuthError && e.kind === "refused") return first;
        throw e;
      }
    }
    const next = this.access?.token;
    if (!next || next === token) return first;
    return this.send(again, init, next);
  }

  // --- internals -----------------------------------------------------------

  private async send(input: RequestInfo | URL, init: RequestInit | undefined, token: string | null): Promise<Response> {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (token !== null) headers.set("Authorization", `Bearer ${token}`);
    try {
      return await fetch(input, { ...init, headers });
    } catch (e) {
      throw networkError(e);
    }
  }

  /** One call to the issuer's auth API; a non-2xx answer becomes an AuthError. */
  private async call<T>(path: string, o: { body: unknown; bearer?: string }): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (o.body !== undefined) headers["Content-Type"] = "application/json";
    if (o.bearer) headers.Authorization = `Bearer ${o.bearer}`;
    if (this.mode === "cookie") headers[csrfHeader] = "1";
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method: "POST",
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        // Cookie mode sends and receives the session cookie; memory mode
        // never touches cookies.
        credentials: this.mode === "cookie" ? "include" : "omit",
        cache: "no-store",
      });
    } catch (e) {
      throw networkError(e);
    }
    if (!res.ok) throw await errorFromResponse(res);
    if (res.status === 204) return undefined as T;
    return readJSON<T>(res);
  }

  /**
   * Refreshes unless the session changed since version seen. However many
   * callers ask at once, in this tab or in others, one request goes out:
   * callers of this tab share one promise, and in cookie mode tabs take
   * turns holding a lock; a tab that waited for another uses the token it
   * announced.
   */
  private refresh(seen: number): Promise<void> {
    if (this.inflight === null) {
      const run = async (waited: boolean): Promise<void> => {
        if (waited && this.version === seen) await this.versionAfter(seen, handoffMs);
        if (this.version !== seen) return;
        await this.refreshNow();
      };
      // Memory-mode tabs each have a session of their own: nothing to share.
      const flight = this.mode === "cookie" ? this.tabs.withLock(run) : run(false);
      this.inflight = flight.finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async refreshNow(): Promise<void> {
    if (this.state === "out" || (this.mode === "memory" && this.refreshToken === null)) return;
    if (this.blocked && Date.now() < this.blocked.until) throw this.blocked.error;
    const version = this.version;
    const body = this.mode === "cookie" ? { session_mode: "cookie" } : { refresh_token: this.refreshToken };
    let answer: TokenResponse;
    try {
      answer = await this.call<TokenResponse>("/refresh/", { body, bearer: this.access?.token });
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      if (e.kind === "refused" && e.code === "invalid_grant") {
        // The session is over (expired, revoked, logged out elsewhere):
        // end it here and in the other tabs, once.
        if (this.version === version) this.end(true);
      } else if (e.kind === "server") {
        // Not again before Retry-After (at least a second): no tight loop.
        this.blocked = { until: Date.now() + Math.max(1, e.retryAfter ?? 5) * 1000, error: e };
      }
      throw e;
    }
    this.blocked = null;
    if (this.version !== version) return; // a logout or a login happened meanwhile
    this.adopt(answer);
  }

  /** Takes a login or refresh answer as the session. */
  private adopt(body: TokenResponse): void {
    const now = Date.now();
    const lifetime = Math.max(0, body.expires_in) * 1000;
    this.access = { token: body.access_token, expiresAt: now + lifetime, refreshAt: now + lifetime - Math.min(this.marginMs, lifetime / 2) };
    if (this.mode === "memory") {
      this.refreshToken = body.refresh_token ?? null;
      if (this.storageKey) store(this.storageKey, this.refreshToken);
    }
    this.currentUser = body.user;
    const type: AuthEventType = this.state === "in" ? "refresh" : "login";
    this.state = "in";
    this.bump();
    if (this.mode === "cookie") {
      // The cookie is the origin's: the other tabs take the new access token.
      this.tabs.post({ type: "token", accessToken: this.access.token, expiresAt: this.access.expiresAt, refreshAt: this.access.refreshAt, user: body.user });
    }
    this.emit(type);
  }

  /**
   * Ends the session here, and in the other tabs when announce is set and
   * there was a session: a tab that finds no session at start-up tells the
   * others nothing.
   */
  private end(announce: boolean): void {
    const was = this.state;
    this.access = null;
    this.refreshToken = null;
    if (this.storageKey) store(this.storageKey, null);
    this.currentUser = null;
    this.state = "out";
    this.bump();
    if (announce && was === "in") this.tabs.post({ type: "logout" });
    if (was === "in") this.emit("logout");
  }

  private fromTab(m: TabMessage): void {
    if (m.type === "logout") {
      if (this.mode === "memory" && this.state !== "out") {
        // This tab's session is its own: end it at the issuer too.
        void this.logoutQuietly();
        return;
      }
      this.end(false);
      return;
    }
    if (this.mode !== "cookie" || (this.access && this.access.expiresAt >= m.expiresAt)) return;
    this.access = { token: m.accessToken, expiresAt: m.expiresAt, refreshAt: m.refreshAt };
    this.currentUser = m.user as User;
    const type: AuthEventType = this.state === "in" ? "refresh" : "login";
    this.state = "in";
    this.bump();
    this.emit(type);
  }

  private async logoutQuietly(): Promise<void> {
    try {
      const token = this.access && Date.now() < this.access.expiresAt ? this.access.token : null;
      if (token !== null) await this.call("/logout/", { body: { refresh_token: this.refreshToken }, bearer: token });
    } catch {
      // Best effort: the tab forgets the session either way.
    }
    this.end(false);
  }

  private bump(): void {
    this.version++;
    const waiters = this.versionWaiters;
    this.versionWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when the version moves past seen, or after ms. */
  private versionAfter(seen: number, ms: number): Promise<void> {
    if (this.version !== seen) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.versionWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private emit(type: AuthEventType): void {
    const event: AuthEvent = { type, user: this.currentUser };
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (e) {
        // A failing listener must not break the client: report it apart.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}

async function readJSON<T>(res: Response): Promise<T> {
  try {
    return (await res.json()) as T;
  } catch (e) {
    throw new AuthError("server", "The answer is not JSON.", { status: res.status, cause: e });
  }
}

// sessionStorage can be missing or throw (sandboxed frames, storage
// disabled): the refresh token then lives in memory only.
function stored(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string | null): void {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // Kept in memory only.
  }
}

/** Whether a 401 carries an RFC 6750 invalid_token challenge. */
function invalidToken(res: Response): boolean {
  return /error\s*=\s*"?invalid_token"?/i.test(res.headers.get("WWW-Authenticate") ?? "");
}
