import { temporal } from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';

/**
 * The request rate of a paced provider queue (`reelay-vividflow`), set once for the deployment.
 *
 * A worker's own `maxTaskQueueActivitiesPerSecond` is last-poller-wins on the server: two workers
 * configured differently would take turns setting the pace. The task queue's config on the Temporal
 * server (`temporal task-queue config set --queue-rps-limit`) overrides every worker's. So the rate lives
 * there: the first worker that starts with a rate while the queue has none writes its own; from then on
 * every worker runs at that rate, and one whose configuration differs says so at start. The rate changes
 * only when an operator sets it (`temporal task-queue config set … --queue-rps-limit N`, or `default` to
 * unset it and let the next worker write its own).
 *
 * Each worker still passes its own rate to the SDK: if the queue's config is unset later, the pace falls
 * back to the workers' (as before), not to none. A server without task queue config (before 1.28), or a
 * worker not allowed to write it, paces as before and warns.
 */

export interface DeploymentRate {
  /** The rate the queue runs at, in requests per second; undefined: unpaced. */
  requestsPerSecond: number | undefined;
  /** What decided it. */
  source: 'deployment' | 'set-by-this-worker' | 'worker-only';
  /** What the operator should know (a differing configuration, a server that cannot hold the rate). */
  warning?: string;
}

type WorkflowService = NativeConnection['workflowService'];

const ACTIVITY_QUEUE = temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;

/** The queue's rate from its config on the server, and who set it (undefined: no rate is set). */
export async function readDeploymentRate(
  service: WorkflowService,
  namespace: string,
  taskQueue: string,
): Promise<{ requestsPerSecond: number; reason: string; setBy: string } | undefined> {
  const described = await service.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: ACTIVITY_QUEUE,
    reportConfig: true,
  });
  const limit = described.config?.queueRateLimit;
  const rps = limit?.rateLimit?.requestsPerSecond;
  if (!limit?.rateLimit || rps === undefined || rps === null) return undefined;
  return { requestsPerSecond: rps, reason: limit.metadata?.reason ?? '', setBy: limit.metadata?.updateIdentity ?? '' };
}

/** Writes the queue's rate to its config on the server. */
export async function writeDeploymentRate(service: WorkflowService, opts: { namespace: string; taskQueue: string; requestsPerSecond: number; reason: string; identity: string }): Promise<void> {
  await service.updateTaskQueueConfig({
    namespace: opts.namespace,
    identity: opts.identity,
    taskQueue: opts.taskQueue,
    taskQueueType: ACTIVITY_QUEUE,
    updateQueueRateLimit: { rateLimit: { requestsPerSecond: opts.requestsPerSecond }, reason: opts.reason },
  });
}

/** Rates within this factor of each other are the same rate (the server stores a float32). */
function sameRate(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * The rate this worker's paced queue runs at: the deployment's when set; else this worker writes its own
 * (`configured`, from `variables`) as the deployment's. Never throws: a server that cannot read or hold
 * the config leaves the worker's own rate in charge, with a warning.
 */
export async function settleDeploymentRate(opts: {
  service: WorkflowService;
  namespace: string;
  taskQueue: string;
  configured: number | undefined;
  /** The variables the worker's rate comes from, for the messages. */
  variables: string;
  identity: string;
}): Promise<DeploymentRate> {
  const { service, namespace, taskQueue, configured, variables, identity } = opts;
  const mine = configured === undefined ? 'none (unpaced)' : `${configured}/s`;
  try {
    const current = await readDeploymentRate(service, namespace, taskQueue);
    if (current) {
      const differs = configured === undefined || !sameRate(configured, current.requestsPerSecond);
      return {
        requestsPerSecond: current.requestsPerSecond,
        source: 'deployment',
        ...(differs
          ? {
              warning:
                `${taskQueue} runs at the deployment's ${current.requestsPerSecond} requests/s (${current.reason || `set by ${current.setBy || 'an operator'}`}); ` +
                `this worker's ${variables} (${mine}) is not used. Change the deployment's rate with ` +
                `\`temporal task-queue config set --task-queue ${taskQueue} --task-queue-type activity --queue-rps-limit N\` (or \`default\` to let the next worker set its own)`,
            }
          : {}),
      };
    }
    if (configured === undefined) return { requestsPerSecond: undefined, source: 'worker-only' };
    await writeDeploymentRate(service, { namespace, taskQueue, requestsPerSecond: configured, identity, reason: `${variables}=${configured}/s of worker ${identity}, the first to start with a rate` });
    return { requestsPerSecond: configured, source: 'set-by-this-worker' };
  } catch (err) {
    return {
      requestsPerSecond: configured,
      source: 'worker-only',
      warning:
        `could not read or set ${taskQueue}'s rate on the Temporal server (${(err as Error).message}); ` +
        `pacing with this worker's ${variables} (${mine}): with workers configured differently the last one to poll sets the pace`,
    };
  }
}
