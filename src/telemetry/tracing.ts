import { ProxyTracerProvider, context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import { OTEL_WORKFLOW_INTERCEPTORS, type TracingSettings } from './settings';
import { onShutdownTracing } from './shutdown';

/**
 * The OpenTelemetry SDK of a Reelay process, loaded only when tracing is on: one tracer provider per
 * process (the client and the worker of `reelay dev` share it), exporting over OTLP/HTTP in batches.
 */

export interface InstalledTracing {
  /** Where workflow spans go (through the worker's `exporter` sink); the provider's own processor. */
  processor: SpanProcessor;
  resource: Resource;
  /** False when the process had registered a tracer provider of its own before: client and activity spans go there. */
  ownsGlobalProvider: boolean;
}

let installed: InstalledTracing | undefined;

/** Installs the tracer provider once per process (later calls return the first one). */
export function installTracing(settings: TracingSettings, defaultServiceName: string): InstalledTracing {
  if (installed) return installed;
  const resource = Resource.default()
    .merge(envDetectorSync.detect())
    .merge(new Resource({ [ATTR_SERVICE_NAME]: settings.serviceName ?? defaultServiceName }));
  const exporterOptions = { url: settings.tracesUrl, headers: settings.headers };
  const exporter = settings.protocol === 'http/json' ? new OtlpJsonExporter(exporterOptions) : new OtlpProtoExporter(exporterOptions);
  // Batched (OTEL_BSP_* tune it): a span never waits for the network.
  const processor = new BatchSpanProcessor(exporter);
  // Nothing registered yet is a ProxyTracerProvider with the no-op delegate; a service that set up its
  // own SDK keeps it, and Reelay's client and activity spans join its traces.
  const ownsGlobalProvider = trace.getTracerProvider() instanceof ProxyTracerProvider;
  let provider: NodeTracerProvider | undefined;
  if (ownsGlobalProvider) {
    provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
    // The global tracer provider, AsyncLocalStorage context (an activity's span is the parent of its
    // HTTP calls) and W3C trace-context propagation (what the client interceptor writes into headers).
    provider.register();
  }
  installed = { processor, resource, ownsGlobalProvider };
  onShutdownTracing(async () => {
    installed = undefined;
    if (provider) {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    } else await processor.shutdown();
  });
  return installed;
}

/** The client interceptor: a start carries the trace context to the workflow (its `StartWorkflow:<type>` span). */
export function tracingClientInterceptors(): WorkflowClientInterceptor[] {
  return [new OpenTelemetryWorkflowClientInterceptor()];
}

/**
 * Worker options plus tracing: the workflow interceptors (bundled when the worker bundles; a prebuilt
 * bundle must include them, see src/telemetry/worker.ts), the workflow span exporter sink, and the
 * activity interceptors (`RunActivity:<name>` spans, trace ids on log lines). Existing interceptors and
 * sinks are kept.
 */
export function withTracing(options: WorkerOptions, tracing: InstalledTracing): WorkerOptions {
  const interceptors = options.interceptors ?? {};
  return {
    ...options,
    interceptors: {
      ...interceptors,
      // Only where the worker bundles (the SDK warns when a prebuilt bundle is given workflow modules).
      ...(options.workflowsPath && !options.workflowBundle
        ? { workflowModules: [...(interceptors.workflowModules ?? []), OTEL_WORKFLOW_INTERCEPTORS] }
        : {}),
      activity: [
        ...(interceptors.activity ?? []),
        (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
      ],
    },
    sinks: { ...options.sinks, exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
  };
}

/** Exports what is buffered now (a worker that stops; the provider stays for others in the process). */
export async function flushTracing(): Promise<void> {
  await installed?.processor.forceFlush().catch(() => undefined);
}
