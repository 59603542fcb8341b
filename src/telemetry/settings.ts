import { ConfigError } from '../config';

/**
 * Tracing is configured with the standard OpenTelemetry variables and is off unless one of them asks
 * for it: an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or
 * OTEL_TRACES_EXPORTER=otlp. OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED=true force it off. This
 * module is light (no SDK): the SDK is loaded only when tracing is on (src/telemetry/tracing.ts).
 */

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TracingSettings {
  /** Where spans are POSTed: the traces endpoint itself (`…/v1/traces`). */
  tracesUrl: string;
  protocol: OtlpProtocol;
  /** OTEL_SERVICE_NAME; undefined: the caller's default (`reelay-worker`, `reelay`). */
  serviceName: string | undefined;
  /** OTEL_EXPORTER_OTLP_HEADERS then OTEL_EXPORTER_OTLP_TRACES_HEADERS (`k=v,k2=v2`, values URL-encoded). */
  headers: Record<string, string>;
}

/** The OTLP/HTTP default of the specification (a collector or Jaeger on this machine). */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

const blank = (v: string | undefined): v is undefined => v === undefined || v.trim() === '';

/** The tracing settings of `env`, or undefined when tracing is off. A bad value throws ConfigError naming the variable. */
export function tracingSettings(env: NodeJS.ProcessEnv = process.env): TracingSettings | undefined {
  const problems: string[] = [];
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return undefined;
  const unknown = exporters.filter((e) => e !== 'otlp');
  if (unknown.length) problems.push(`OTEL_TRACES_EXPORTER: must be otlp or none (got ${unknown.join(', ')})`);

  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (blank(traces) && blank(base) && !exporters.includes('otlp')) {
    if (problems.length) throw new ConfigError(problems);
    return undefined;
  }
  // The signal-specific variable is the URL itself; the general one is a base the path is appended to.
  const [name, tracesUrl] = !blank(traces)
    ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces.trim()]
    : ['OTEL_EXPORTER_OTLP_ENDPOINT', `${(blank(base) ? DEFAULT_OTLP_ENDPOINT : base.trim()).replace(/\/+$/, '')}/v1/traces`];
  if (!isHttpUrl(tracesUrl)) problems.push(`${name}: must be an http(s) URL of an OTLP/HTTP receiver (e.g. ${DEFAULT_OTLP_ENDPOINT})`);

  const protocolVar = !blank(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolVar]?.trim() || 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    problems.push(
      `${protocolVar}: must be http/protobuf (the default) or http/json${protocol === 'grpc' ? '; gRPC is not supported, point the endpoint at the OTLP/HTTP port (4318)' : ''}`,
    );
  }

  const headers: Record<string, string> = {};
  for (const headerVar of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    for (const pair of (env[headerVar] ?? '').split(',')) {
      if (pair.trim() === '') continue;
      const eq = pair.indexOf('=');
      const key = eq > 0 ? pair.slice(0, eq).trim() : '';
      if (!key) {
        problems.push(`${headerVar}: must be comma-separated key=value pairs`);
        break;
      }
      try {
        headers[key] = decodeURIComponent(pair.slice(eq + 1).trim());
      } catch {
        problems.push(`${headerVar}: the value of ${key} is not URL-encoded`);
      }
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return { tracesUrl, protocol: protocol as OtlpProtocol, serviceName: env.OTEL_SERVICE_NAME?.trim() || undefined, headers };
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The module path of the OpenTelemetry workflow interceptors (bundled into the workflow code). */
export const OTEL_WORKFLOW_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** Whether a workflow bundle's code includes the OpenTelemetry workflow interceptors. */
export function bundleTracesWorkflows(code: string): boolean {
  return code.includes('interceptors-opentelemetry/lib/workflow-interceptors');
}
