import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions';
import type { ProviderId } from '../providers/errors';
import { redactText } from '../providers/redact';

/**
 * Spans for the HTTP calls activities make: through `@opentelemetry/api` only, so with tracing off
 * (no provider registered) every span is the API's no-op and costs next to nothing. Attributes name the
 * route template and the host, never a URL: paths carry ids and signed URLs carry their signature.
 */

const TRACER = 'reelay';
/** OpenTelemetry's HTTP client attribute for the route pattern (`/shots/{shot_id}/status`). */
const ATTR_URL_TEMPLATE = 'url.template';
export const ATTR_REELAY_PROVIDER = 'reelay.provider';
export const ATTR_REELAY_TRANSFER_BYTES = 'reelay.transfer.bytes';

/** What a traced call reports while it runs. */
export interface CallSpan {
  status(code: number): void;
  set(name: string, value: string | number | boolean): void;
}

/** `POST /shots/{shot_id}/generate` → method and template. */
export function splitEndpoint(endpoint: string): { method: string; template: string } {
  const space = endpoint.indexOf(' ');
  return space > 0 ? { method: endpoint.slice(0, space), template: endpoint.slice(space + 1) } : { method: endpoint, template: '' };
}

function serverAttributes(url: string): Attributes {
  try {
    const u = new URL(url);
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    return { [ATTR_SERVER_ADDRESS]: u.hostname, [ATTR_SERVER_PORT]: port };
  } catch {
    return {};
  }
}

async function inClientSpan<T>(name: string, attributes: Attributes, fn: (span: CallSpan) => Promise<T>): Promise<T> {
  return trace.getTracer(TRACER).startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    let status: number | undefined;
    const handle: CallSpan = {
      status: (code) => {
        status = code;
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, code);
      },
      set: (key, value) => span.setAttribute(key, value),
    };
    try {
      const result = await fn(handle);
      if (status !== undefined && status >= 400) failed(span, String(status));
      return result;
    } catch (err) {
      failed(span, status !== undefined && status >= 400 ? String(status) : errorName(err), err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * One provider API call (src/providers/http.ts): span `POST /shots/{shot_id}/generate` with the method,
 * the route template, the provider, the host and the status code; a failure is recorded with the
 * client's classified (already redacted) message.
 */
export function providerCallSpan<T>(
  call: { provider: ProviderId; endpoint: string; baseUrl: string },
  fn: (span: CallSpan) => Promise<T>,
): Promise<T> {
  const { method, template } = splitEndpoint(call.endpoint);
  return inClientSpan(
    call.endpoint,
    {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_TEMPLATE]: template,
      [ATTR_REELAY_PROVIDER]: call.provider,
      ...serverAttributes(call.baseUrl),
    },
    fn,
  );
}

/**
 * A transfer to or from a signed URL (src/activities/transfer.ts): span `PUT signed upload URL` or
 * `GET signed download URL` with the method, the host, the provider, the status and the bytes moved. The
 * URL itself is a credential and is not recorded.
 */
export function transferSpan<T>(
  transfer: { method: 'PUT' | 'GET'; what: string; provider: ProviderId; url: string },
  fn: (span: CallSpan) => Promise<T>,
): Promise<T> {
  return inClientSpan(
    `${transfer.method} ${transfer.what}`,
    { [ATTR_HTTP_REQUEST_METHOD]: transfer.method, [ATTR_REELAY_PROVIDER]: transfer.provider, ...serverAttributes(transfer.url) },
    fn,
  );
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

function failed(span: Span, type: string, err?: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, type);
  const message = err instanceof Error ? redactText(err.message) : undefined;
  if (err !== undefined) span.recordException({ name: errorName(err), ...(message ? { message } : {}) });
  span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
}
