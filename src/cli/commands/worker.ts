import path from 'node:path';
import { str, type CommandSpec, type Parsed } from '../args';
import { cliConfig, describeTemporal, installWorkerRuntime, note, print, untilSignal } from '../context';

export const spec: CommandSpec = {
  name: 'worker',
  summary: 'Run a Reelay worker (every pipeline and activity) until SIGINT/SIGTERM.',
  usage: ['worker [--task-queue Q] [--output-dir D]', 'worker --check'],
  options: {
    check: { type: 'boolean', description: 'Probe the running worker: exit 0 if /readyz on REELAY_METRICS_ADDR answers 200, else 1 with the reason' },
    'task-queue': { type: 'string', value: 'Q', description: 'Task queue to poll (default: REELAY_TASK_QUEUE or "reelay")' },
    'output-dir': { type: 'string', value: 'D', description: 'Where results are written (default: REELAY_OUTPUT_DIR or ./output)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  details: [
    'Provider settings come from the environment (or .env): LIPDUB_API_KEY, LIPDUB_BASE_URL, DUBLAB_API_KEY,',
    'DUBLAB_BASE_URL, TEXT2VIDEO_BASE_URL (no key), VIVIDFLOW_API_KEY, VIVIDFLOW_BASE_URL, AISTUDIO_TOKEN,',
    'AISTUDIO_BASE_URL; Temporal from a profile (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE) and TEMPORAL_ADDRESS,',
    'TEMPORAL_NAMESPACE and the TLS/API-key variables. Every setting is checked before connecting: a bad value',
    'stops the worker with exit status 2, naming each variable and what it accepts (a missing API key does not:',
    'the pipelines of that provider fail, naming it).',
    'On SIGINT/SIGTERM it stops polling, lets running activities finish, then exits; a second signal exits at once.',
    'With REELAY_METRICS_ADDR=host:port it serves /metrics (Prometheus), /healthz and /readyz there;',
    '`reelay worker --check` asks that /readyz, for container probes (exit 0 ready, 1 not, with the reason).',
  ],
};

export async function run({ values }: Parsed): Promise<number> {
  const config = await cliConfig();
  if (values.check === true) return check(config.metricsAddr);
  const queue = str(values, 'task-queue') ?? config.taskQueue;
  const out = path.resolve(str(values, 'output-dir') ?? config.outputDir);
  await installWorkerRuntime(config.logLevel ?? 'INFO', { metrics: config.metricsAddr !== undefined, logFormat: config.logFormat });
  const { startWorker } = await import('../stack');
  let worker;
  try {
    worker = await startWorker({ taskQueue: queue, outputRoot: out, config });
  } catch (err) {
    // The start-up check of an s3:// output location names its own variable (exit 2).
    if ((err as Error).name === 'ConfigError') throw err;
    const { CliError } = await import('../args');
    throw new CliError(`cannot start the worker against Temporal at ${describeTemporal(config)}: ${(err as Error).message}`);
  }
  const outputs = config.storage.output.kind === 's3' ? `s3://${config.storage.output.bucket}/${config.storage.output.key}`.replace(/\/$/, '') : out;
  note(`Reelay worker polling task queue "${queue}" on ${describeTemporal(config)}; outputs to ${outputs}. Ctrl-C to stop.`);
  if (worker.worker.metricsAddress) note(`Metrics on http://${worker.worker.metricsAddress}/metrics, probes on /healthz and /readyz.`);
  const signal = untilSignal();
  let workerError: unknown;
  const stoppedBy = await Promise.race([signal, worker.done.then(() => undefined, (err: unknown) => void (workerError = err))]);
  if (stoppedBy) note(`${stoppedBy}: shutting down the worker (waiting for running activities)…`);
  await worker.stop();
  if (workerError) throw workerError;
  note('Worker stopped.');
  return 0;
}

/** `--check`: one line, exit 0 when the worker on REELAY_METRICS_ADDR is ready, 1 otherwise. */
async function check(addr: string | undefined): Promise<number> {
  if (!addr) {
    note('not ready: REELAY_METRICS_ADDR is not set (the worker serves /readyz only there)');
    return 1;
  }
  const { checkReady } = await import('../../ops/server');
  const reason = await checkReady(addr);
  if (reason) {
    note(reason);
    return 1;
  }
  print(`ready (${addr})`);
  return 0;
}
