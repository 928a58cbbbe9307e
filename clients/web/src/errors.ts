/**
 * What went wrong, in three kinds:
 * - `network`: no answer (offline, DNS, CORS refusal, aborted request);
 * - `refused`: the issuer said no (4xx): wrong password, refused refresh,
 *   missing same-origin proof, invalid input;
 * - `server`: the issuer failed or is overloaded (5xx); `retryAfter` holds
 *   the seconds of a `Retry-After` header.
 */
export type AuthErrorKind = "network" | "refused" | "server";

/** An RFC 9457 problem document, as the issuer answers errors. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: Record<string, string[]>;
}

/** The one error type every method of the client rejects with. */
export class AuthError extends Error {
  readonly kind: AuthErrorKind;
  /** HTTP status, 0 for `network`. */
  readonly status: number;
  /** The problem's stable `code` (e.g. `invalid_credentials`), or "". */
  readonly code: string;
  /** Seconds to wait before trying again (`Retry-After`), or undefined. */
  readonly retryAfter: number | undefined;
  readonly problem: Problem | undefined;

  constructor(kind: AuthErrorKind, message: string, init: { status?: number; code?: string; retryAfter?: number; problem?: Problem; cause?: unknown } = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "AuthError";
    this.kind = kind;
    this.status = init.status ?? 0;
    this.code = init.code ?? "";
    this.retryAfter = init.retryAfter;
    this.problem = init.problem;
  }
}

/** Wraps anything fetch threw (a TypeError, an AbortError) as a network error. */
export function networkError(cause: unknown): AuthError {
  const aborted = cause instanceof DOMException && cause.name === "AbortError";
  return new AuthError("network", aborted ? "The request was aborted." : "The server could not be reached.", { cause });
}

/** Reads a non-2xx answer of the issuer into an AuthError. */
export async function errorFromResponse(res: Response): Promise<AuthError> {
  let problem: Problem | undefined;
  try {
    const body: unknown = await res.json();
    if (body !== null && typeof body === "object") problem = body as Problem;
  } catch {
    // Not JSON: the status says enough.
  }
  const code = typeof problem?.code === "string" ? problem.code : "";
  const detail = typeof problem?.detail === "string" && problem.detail !== "" ? problem.detail : `HTTP ${res.status}`;
  const retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
  const kind: AuthErrorKind = res.status >= 500 ? "server" : "refused";
  return new AuthError(kind, detail, { status: res.status, code, retryAfter, problem });
}

/** Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 section 10.2.3). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
