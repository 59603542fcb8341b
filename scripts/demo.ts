/**
 * `npm run demo`: everything local, no account needed. Builds (once) or finds the Temporal CLI, starts a
 * dev server persisted to .reelay/temporal.db (or reuses one on TEMPORAL_ADDRESS), the sandbox providers
 * and an in-process worker, then runs a LipDub pipeline into two languages and a DubLab pipeline into
 * three, with live progress, and prints every output with its size and sha256.
 *
 *   npx tsx scripts/demo.ts          keep everything running afterwards for the Temporal UI, until Ctrl-C
 *   npx tsx scripts/demo.ts --once   exit when done: 0 only if every pipeline completed
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadDotEnv, outputDir, stateDir, workflowUiLink } from '../src/config';
import { connectClient, startPipeline, type DublabPipelineInput, type LipdubPipelineInput } from '../src/client';
import { installWorkerRuntime, untilSignal } from '../src/cli/context';
import { outputFiles, watchWorkflows, type WatchResult } from '../src/cli/pipelines';
import { formatBytes, formatDuration, styler } from '../src/cli/render';
import { DEFAULT_PORT_BASE, startLocalStack, type LocalStack } from '../src/cli/stack';

/** A few seconds per provider step, so the bars have something to show. */
const DEMO_TIMINGS = {
  lipdub: { shotMs: 3_000, trainingMs: 3_000, generateQueueMs: 1_000, generateMs: 4_000 },
  dublab: { queueMs: 1_500, processMs: 6_000 },
};
/** Polling sized for those timings (the production defaults start at 10 s). */
const DEMO_POLLING = { initialIntervalSeconds: 0.5, maxIntervalSeconds: 2, backoffCoefficient: 1.5, deadlineMinutes: 10 };

const VIDEO_BYTES = 1_500_000;
const AUDIO_BYTES = 120_000;

const st = styler(process.stdout);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const step = (line: string) => process.stdout.write(`${st.dim(`[${elapsed().padStart(6)}]`)} ${line}\n`);

function ensureFile(file: string, size: number): string {
  if (!fs.existsSync(file) || fs.statSync(file).size !== size) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, randomBytes(size));
  }
  return file;
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write('Usage: npm run demo [-- --once]\n  --once  exit when the pipelines are done (0 only if all completed), stopping everything\n');
    return 0;
  }
  loadDotEnv();
  await installWorkerRuntime('WARN');
  const signal = untilSignal();

  process.stdout.write(st.bold('Reelay demo: LipDub + DubLab pipelines on a local Temporal, against the sandbox providers\n\n'));
  const taskQueue = `reelay-demo-${randomUUID().slice(0, 8)}`;
  const out = outputDir();
  const stack: LocalStack = await Promise.race([
    startLocalStack({ portBase: DEFAULT_PORT_BASE, timings: DEMO_TIMINGS, taskQueue, outputRoot: out, log: step, fallbackToFreePorts: true }),
    signal.then(() => Promise.reject(new Error('interrupted while starting'))),
  ]);

  let code = 1;
  try {
    const dir = path.join(stateDir(), 'demo-inputs');
    const video = ensureFile(path.join(dir, 'talk.mp4'), VIDEO_BYTES);
    const es = ensureFile(path.join(dir, 'es-MX.mp3'), AUDIO_BYTES);
    const fr = ensureFile(path.join(dir, 'fr-FR.mp3'), AUDIO_BYTES + 7_000);
    step(`Demo inputs in ${path.relative(process.cwd(), dir)}: talk.mp4 (${formatBytes(VIDEO_BYTES)} of random bytes), es-MX.mp3, fr-FR.mp3`);

    const client = await connectClient();
    const lipdubInput: LipdubPipelineInput = {
      video,
      audios: [
        { source: es, language: 'es-MX' },
        { source: fr, language: 'fr-FR' },
      ],
      projectName: 'Reelay demo',
      polling: DEMO_POLLING,
    };
    const dublabInput: DublabPipelineInput = {
      source: video,
      sourceLanguage: 'en',
      targetLanguages: ['es', 'de', 'ja'],
      durationSeconds: 12,
      outputTypes: ['translated_mp4', 'translated_mp3', 'translated_subtitle'],
      name: 'Reelay demo',
      polling: DEMO_POLLING,
    };
    const [lipdub, dublab] = await Promise.all([
      startPipeline(client, 'lipdub', lipdubInput, { taskQueue }),
      startPipeline(client, 'dublab', dublabInput, { taskQueue }),
    ]);
    step(`Started ${lipdub.workflowId} and ${dublab.workflowId} on task queue ${taskQueue}`);
    process.stdout.write('\n');

    const watching = watchWorkflows(
      client,
      [
        { handle: lipdub.handle, label: 'LipDub es-MX, fr-FR ' },
        { handle: dublab.handle, label: 'DubLab es, de, ja   ' },
      ],
      { logLines: 1, intervalMs: 500 },
    );
    const results = await Promise.race([watching, signal.then(() => undefined)]);
    if (!results) {
      process.stdout.write('\nInterrupted; stopping (the workflows stay in Temporal and resume with a worker).\n');
      await client.connection.close();
      await stack.stop();
      return 130;
    }
    process.stdout.write('\n');
    code = report(results, [lipdub, dublab], stack);
    await client.connection.close();
  } catch (err) {
    await stack.stop();
    throw err;
  }

  if (values.once) {
    step(`Done in ${formatDuration(Date.now() - t0)}; stopping ${started(stack)}.`);
    await stack.stop();
    return code;
  }
  process.stdout.write(
    `\n${st.bold('Open the Temporal UI')} at ${stack.temporal.uiUrl} to see both workflows: their histories, summaries and the\n` +
      `"progress" query (the worker keeps running to answer it). Ctrl-C stops ${started(stack)}.\n`,
  );
  const sig = await signal;
  step(`${sig}: stopping…`);
  await stack.stop();
  step('Stopped.');
  return code;
}

/** What this process started, and so stops; a reused Temporal server is left alone. */
function started(stack: LocalStack): string {
  return stack.temporal.reused ? 'the worker and the sandbox (not the Temporal server, which was already running)' : 'the worker, the sandbox and the Temporal dev server';
}

function report(results: WatchResult[], started: Array<{ workflowId: string; runId: string }>, stack: LocalStack): number {
  let ok = true;
  for (const r of results) {
    const s = started.find((x) => x.workflowId === r.workflowId)!;
    const link = workflowUiLink({ uiUrl: stack.temporal.uiUrl, namespace: stack.temporal.namespace }, s.workflowId, s.runId);
    const mark = r.status === 'COMPLETED' ? st.green('✓') : st.red('✗');
    process.stdout.write(`${mark} ${st.bold(r.workflowId)} ${r.status}\n`);
    if (r.status !== 'COMPLETED') {
      ok = false;
      process.stdout.write(`    ${r.failure ?? ''}\n`);
    }
    for (const f of outputFiles(r.result)) {
      const verified = fs.existsSync(f.path) && sha256File(f.path) === f.sha256;
      if (!verified) ok = false;
      process.stdout.write(
        `    ${f.label.padEnd(24)} ${path.relative(process.cwd(), f.path)}\n` +
          `    ${''.padEnd(24)} ${f.bytes} bytes  sha256 ${f.sha256} ${verified ? st.green('(verified on disk)') : st.red('(MISMATCH on disk)')}\n`,
      );
    }
    process.stdout.write(`    Temporal UI: ${link}\n\n`);
  }
  const counters = stack.sandbox.counters();
  const calls = Object.values(counters).reduce((a, b) => a + b, 0);
  process.stdout.write(`Sandbox served ${calls} provider calls (${counters['lipdub POST /v1/video'] ?? 0} video upload, ${counters['lipdub POST /v1/audio'] ?? 0} audio uploads at LipDub).\n`);
  process.stdout.write(ok ? st.green(`All pipelines completed in ${elapsed()}.\n`) : st.red(`Some pipelines did not complete (${elapsed()}).\n`));
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    if (process.env.REELAY_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 500).unref();
  },
);
