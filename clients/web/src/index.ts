/**
 * @medinsights/auth-client: the browser client of MedInsights Auth.
 * See docs/web-client.md in the repository.
 */
export { createAuthClient } from "./client.js";
export type { AuthClient, AuthClientOptions, AuthEvent, AuthEventType, RegisterFields, SessionMode, User } from "./client.js";
export { AuthError } from "./errors.js";
export type { AuthErrorKind, Problem } from "./errors.js";
