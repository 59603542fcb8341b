import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Who may use the dashboard. On loopback nobody has to sign in (the `reelay dev` default); any other bind
 * needs a bearer token or a basic-auth user and password, and refuses every request without them. A
 * browser signs in with basic auth; a token also works as the basic-auth password (any user name), so a
 * person can paste it into the browser's prompt.
 */
export interface DashboardAuth {
  token?: string;
  basic?: { user: string; password: string };
}

export const TOKEN_ENV = 'REELAY_DASHBOARD_TOKEN';
export const BASIC_ENV = 'REELAY_DASHBOARD_BASIC_AUTH';
export const REALM = 'Reelay dashboard';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function hasAuth(auth: DashboardAuth): boolean {
  return Boolean(auth.token || auth.basic);
}

/** Why a bind is refused, or undefined: a non-loopback address needs auth. */
export function bindProblem(host: string, auth: DashboardAuth): string | undefined {
  if (isLoopbackHost(host) || hasAuth(auth)) return undefined;
  return `--host ${host} is not a loopback address: set a bearer token (--token or ${TOKEN_ENV}) or basic auth (--basic-auth user:password or ${BASIC_ENV}) to serve it there`;
}

/** `user:password`, as --basic-auth and REELAY_DASHBOARD_BASIC_AUTH take it. */
export function parseBasic(raw: string): { user: string; password: string } | undefined {
  const at = raw.indexOf(':');
  if (at < 1 || at === raw.length - 1) return undefined;
  return { user: raw.slice(0, at), password: raw.slice(at + 1) };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether the request carries what `auth` asks for (always true when it asks for nothing). */
export function authorized(req: IncomingMessage, auth: DashboardAuth): boolean {
  if (!hasAuth(auth)) return true;
  const header = req.headers.authorization ?? '';
  const [scheme, value = ''] = header.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme ?? '') && auth.token) return same(value, auth.token);
  if (/^basic$/i.test(scheme ?? '')) {
    const decoded = parseBasic(Buffer.from(value, 'base64').toString('utf8'));
    if (!decoded) return false;
    if (auth.basic && same(decoded.user, auth.basic.user) && same(decoded.password, auth.basic.password)) return true;
    if (auth.token && same(decoded.password, auth.token)) return true;
  }
  return false;
}
