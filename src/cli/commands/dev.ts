import { num, oneOf, str, type CommandSpec, type Parsed } from '../args';
import { cliConfig, installWorkerRuntime, note, print, untilSignal } from '../context';
import { DEFAULT_PORT_BASE, SPEEDS, SPEED_TIMINGS } from '../stack';

/** Same as src/dashboard/server.ts's (imported lazily there: `--help` loads no server code). */
const DEFAULT_DASHBOARD_PORT = 8240;

export const spec: CommandSpec = {
  name: 'dev',
  summary: 'Everything local in one process: Temporal dev server, sandbox providers and a worker.',
  usage: ['dev [--port-base 7300] [--speed realistic|fast|instant] [--task-queue Q] [--output-dir D] [--codec-port 8089] [--dashboard-port 8240]'],
  options: {
    'port-base': { type: 'string', value: 'PORT', description: `Sandbox ports PORT..PORT+5: store, LipDub, DubLab, text2video, Vivid Flow, AI Studio (default ${DEFAULT_PORT_BASE})` },
    speed: { type: 'string', value: 'SPEED', description: 'Sandbox job timings: realistic, fast (default), instant' },
    'task-queue': { type: 'string', value: 'Q', description: 'Task queue of the worker (default: REELAY_TASK_QUEUE or "reelay")' },
    'output-dir': { type: 'string', value: 'D', description: 'Where results are written (default: REELAY_OUTPUT_DIR or ./output)' },
    'codec-port': { type: 'string', value: 'PORT', description: 'Codec server port when REELAY_PAYLOAD_KEY is set (default 8089)' },
    'dashboard-port': { type: 'string', value: 'PORT', description: 'Dashboard port on loopback (default 8240, a free one when that is taken; 0 = off)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  details: [
    'Builds the Temporal CLI once if needed, starts `temporal server start-dev` persisted to .reelay/temporal.db',
    '(UI on http://localhost:8233) unless a server already answers on TEMPORAL_ADDRESS, starts the sandbox and a',
    'worker pointed at it, and runs until Ctrl-C, then stops all three. In another terminal:',
    '  npx reelay start lipdub --video ./talk.mp4 --audio es-MX=./es.mp3 --watch',
    '  npx reelay start text2video --text "Once upon a time…" --watch',
    '  npx reelay start aistudio --prompt "A paper boat on a rainy street" --mock-mode --watch',
    'With REELAY_PAYLOAD_KEY set, payloads are encrypted and a codec server on :8089 lets the dev UI decode them',
    '(--codec-port to move it); see docs/security.md.',
  ],
};

export async function run({ values }: Parsed): Promise<number> {
  const portBase = num(values, 'port-base', { integer: true, min: 1 }) ?? DEFAULT_PORT_BASE;
  const speed = oneOf(values, 'speed', SPEEDS) ?? 'fast';
  const path = await import('node:path');
  // Metrics and probes are on in dev (REELAY_METRICS_ADDR, else 127.0.0.1:9464 or a free port).
  process.env.REELAY_METRICS_ADDR = await (await import('../../ops/runtime')).devMetricsAddress();
  const config = await cliConfig();
  const queue = str(values, 'task-queue') ?? config.taskQueue;
  const out = path.resolve(str(values, 'output-dir') ?? config.outputDir);
  await installWorkerRuntime(config.logLevel ?? 'WARN', { metrics: true, logFormat: config.logFormat });
  const { startLocalStack } = await import('../stack');
  const { formatSandboxBanner } = await import('../../sandbox');
  const signal = untilSignal();
  const codecPort = num(values, 'codec-port', { integer: true, min: 0 });
  const dashboardPort = num(values, 'dashboard-port', { integer: true, min: 0 }) ?? DEFAULT_DASHBOARD_PORT;
  const stack = await startLocalStack({
    config,
    portBase,
    timings: SPEED_TIMINGS[speed],
    taskQueue: queue,
    outputRoot: out,
    log: note,
    codecPort,
    ...(dashboardPort ? { dashboardPort } : {}),
  });
  print('');
  print(`Temporal UI:  ${stack.temporal.uiUrl}${stack.temporal.reused ? ' (a server that was already running)' : ''}`);
  if (stack.dashboard) print(`Dashboard:    ${stack.dashboard.url} (runs, live progress, provider logs, outputs; loopback only)`);
  if (stack.codec) {
    print(`Codec server: ${stack.codec.url} (payloads encrypted, key id ${stack.codec.keyId}${stack.temporal.reused ? '; set it in the UI\'s Codec Server settings' : '; the UI decodes through it'})`);
  }
  print('');
  if (stack.worker.worker.metricsAddress) print(`Metrics:      http://${stack.worker.worker.metricsAddress}/metrics (probes: /healthz, /readyz)`);
  print('');
  print(formatSandboxBanner(stack.sandbox).trimEnd());
  print(`  export TEMPORAL_ADDRESS=${stack.temporal.address}`);
  print(`  export REELAY_TASK_QUEUE=${queue}`);
  if (stack.codec) print('  export REELAY_PAYLOAD_KEY=…   (the same key as this terminal, to read and start encrypted pipelines)');
  print('');
  print(`Ready (sandbox speed ${speed}). Start a pipeline from another terminal: npx reelay start --help`);
  print('Ctrl-C to stop.');
  let workerError: unknown;
  const stoppedBy = await Promise.race([signal, stack.worker.done.then(() => undefined, (err: unknown) => void (workerError = err))]);
  note(stoppedBy ? `\n${stoppedBy}: stopping the worker, the sandbox${stack.temporal.reused ? '' : ' and the Temporal dev server'}…` : '\nThe worker stopped; shutting down.');
  await stack.stop();
  if (workerError) throw workerError;
  note('Stopped.');
  return 0;
}
