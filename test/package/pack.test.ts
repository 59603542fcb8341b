import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Text2videoPipelineResult } from '../../src/client';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { killed } from '../support/processes';
import { FAST_POLLING, FAST_TIMINGS, PAYLOAD_KEY_VARIABLES, tempDir, temporalAddress } from '../support/harness';
import { ROOT } from '../support/cli';

const run = promisify(execFile);

/**
 * What another service gets: the project packed by `npm pack` (which builds dist/ through `prepack`),
 * installed from the tarball into an empty project, used only through its public entry points.
 */

/** The environment of child processes: no npm settings inherited from an `npm test` around jest. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !PAYLOAD_KEY_VARIABLES.includes(k)) env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}

const CJS_CLIENT = `
const { connectClient, startPipeline, Text2videoPipelineResult } = require('reelay');
(async () => {
  const client = await connectClient();
  const { workflowId, handle } = await startPipeline(client, 'text2video', JSON.parse(process.argv[2]));
  const result = Text2videoPipelineResult.parse(await handle.result());
  console.log(JSON.stringify({ workflowId, result }));
  await client.connection.close();
})().catch((err) => { console.error(err); process.exit(1); });
`;

const ESM_CLIENT = `
import { connectClient, startPipeline } from 'reelay';
const client = await connectClient();
const { workflowId, handle } = await startPipeline(client, 'text2video', JSON.parse(process.argv[2]));
console.log(JSON.stringify({ workflowId, result: await handle.result() }));
await client.connection.close();
`;

const BOUNDARY = `
const resolved = (id) => { try { return require.resolve(id); } catch (err) { return err.code; } };
console.log(JSON.stringify({
  worker: typeof require('reelay/worker').createReelayWorker,
  version: require('reelay/package.json').version,
  internal: resolved('reelay/src/client'),
  dist: resolved('reelay/dist/client/index.js'),
}));
`;

/** A consumer written in TypeScript, checked against the package's declarations through its exports map. */
const TS_CLIENT = `
import { connectClient, startPipeline, type Text2videoPipelineResult } from 'reelay';
import { createReelayWorker } from 'reelay/worker';
export async function start(text: string): Promise<string> {
  const { workflowId } = await startPipeline(await connectClient(), 'text2video', { text });
  return workflowId;
}
export const used: [typeof createReelayWorker, Text2videoPipelineResult['jobId'] | undefined] = [createReelayWorker, undefined];
`;

describe('the packed package, installed into an empty project', () => {
  let dir: string;
  let app: string;
  let sandbox: Sandbox;
  let worker: ChildProcess | undefined;
  let workerLog = '';
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[name] = Date.now() - t0;
    }
  };

  beforeAll(async () => {
    dir = tempDir('pack');
    app = path.join(dir, 'app');
    fs.mkdirSync(app);
    // `npm pack` runs `prepack` (npm run build): the tarball holds a fresh dist/.
    const packed = await timed('npm pack (with build)', () => run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, env: childEnv(), maxBuffer: 64 << 20 }));
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
    await timed('npm install <tarball>', () =>
      run('npm', ['install', path.join(dir, filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env: childEnv(), maxBuffer: 64 << 20 }),
    );
    fs.writeFileSync(path.join(app, 'start.cjs'), CJS_CLIENT);
    fs.writeFileSync(path.join(app, 'start.mjs'), ESM_CLIENT);
    fs.writeFileSync(path.join(app, 'boundary.cjs'), BOUNDARY);
    fs.writeFileSync(path.join(app, 'consumer.ts'), TS_CLIENT);
    sandbox = await startSandbox({ timings: FAST_TIMINGS });
  }, 240_000);

  afterAll(async () => {
    if (worker) await killed(worker);
    await sandbox?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    console.log(`package test timings (ms): ${JSON.stringify(timings)}`);
  });

  test('ships compiled JavaScript and declarations, no TypeScript sources or tests', () => {
    const pkg = path.join(app, 'node_modules', 'reelay');
    expect(fs.existsSync(path.join(pkg, 'dist', 'client', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist', 'client', 'index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist', 'workflows', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'test'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  test('exports reelay, reelay/worker and reelay/package.json, and nothing else', async () => {
    const { stdout } = await run(process.execPath, ['boundary.cjs'], { cwd: app, env: childEnv() });
    expect(JSON.parse(stdout)).toEqual({ worker: 'function', version: expect.any(String), internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED', dist: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  });

  test.each([
    ['node16', 'node16'],
    ['commonjs', 'node10'],
  ])('its declarations type-check a TypeScript consumer (module %s, moduleResolution %s)', async (module, moduleResolution) => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--module', module, '--moduleResolution', moduleResolution, '--target', 'es2022', '--ignoreDeprecations', '5.0', 'consumer.ts'];
    const result = await timed(`tsc consumer.ts (${moduleResolution})`, () =>
      run(process.execPath, [tsc, ...args], { cwd: app, env: childEnv() }).catch((err: { stdout: string }) => err),
    );
    expect(result.stdout).toBe('');
  });

  test('npx reelay --help prints the usage', async () => {
    const { stdout } = await timed('npx reelay --help', () => run('npx', ['--no-install', 'reelay', '--help'], { cwd: app, env: childEnv() }));
    expect(stdout).toContain('Usage: reelay <command>');
    expect(stdout).toMatch(/^\s+worker\b/m);
  });

  test('its worker (reelay worker, compiled workflows) runs pipelines started through require and import of reelay', async () => {
    const taskQueue = `pack-${Date.now()}`;
    const env = childEnv({
      ...sandbox.env(),
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: 'default',
      REELAY_TASK_QUEUE: taskQueue,
      REELAY_OUTPUT_DIR: path.join(dir, 'output'),
    });
    const t0 = Date.now();
    worker = spawn(process.execPath, [path.join(app, 'node_modules', '.bin', 'reelay'), 'worker'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout!.on('data', (d: Buffer) => (workerLog += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()));
    const input = (text: string) => JSON.stringify({ text, polling: FAST_POLLING });
    const [cjs, esm] = await Promise.all([
      run(process.execPath, ['start.cjs', input('Packed, required: a lighthouse.')], { cwd: app, env }),
      run(process.execPath, ['start.mjs', input('Packed, imported: a harbour.')], { cwd: app, env }),
    ]).catch((err: Error) => {
      throw new Error(`${err.message}\nworker output:\n${workerLog}`);
    });
    timings['worker start + two text2video runs'] = Date.now() - t0;
    for (const out of [cjs, esm]) {
      const { workflowId, result } = JSON.parse(out.stdout) as { workflowId: string; result: Text2videoPipelineResult };
      expect(workflowId).toMatch(/^text2video-packed-/);
      expect(result.jobId).toEqual(expect.any(String));
      expect(result.output.bytes).toBeGreaterThan(0);
      expect(fs.statSync(result.output.path).size).toBe(result.output.bytes);
    }
    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => worker!.once('exit', resolve));
    expect({ code, log: workerLog }).toEqual({ code: 0, log: expect.stringContaining('Worker stopped.') });
    worker = undefined;
  });
});
