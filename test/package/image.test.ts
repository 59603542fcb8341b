import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { loadConfig, parseDuration } from '../../src/config';
import { startPipeline } from '../../src/client';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { FAST_POLLING, FAST_TIMINGS, PAYLOAD_KEY_VARIABLES, tempDir, testClient, temporalAddress } from '../support/harness';
import { ROOT } from '../support/cli';

const run = promisify(execFile);

/**
 * The container image (Dockerfile) and the Kubernetes example (deploy/kubernetes/worker.yaml), checked as
 * far as this machine can without a container runtime or a registry: the build context holds what the
 * Dockerfile copies, the final stage is non-root with production dependencies only, and the image's
 * layout — laid out here by the Dockerfile's own `npm ci` line — runs its entrypoint with plain `node`:
 * a worker that bundles its workflows, runs a pipeline and drains on SIGTERM. The manifest's settings
 * are ones the worker accepts, and its grace outlasts the worker's.
 */
jest.setTimeout(300_000);

interface Stage {
  name: string | undefined;
  lines: Array<{ op: string; args: string }>;
}

function stages(): Stage[] {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const out: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op!.toUpperCase() === 'FROM') out.push({ name: /\bAS\s+(\S+)$/i.exec(args)?.[1], lines: [] });
    out.at(-1)?.lines.push({ op: op!.toUpperCase(), args });
  }
  return out;
}

/** .dockerignore as a predicate (its patterns here are plain names and `*.ext` / `.env.*`). */
function ignored(): (file: string) => boolean {
  const patterns = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const regexes = patterns.map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`));
  return (file) => regexes.some((r) => r.test(file));
}

describe('the container image definition', () => {
  const all = stages();
  const final = all.at(-1)!;

  it('is multi-stage; the image is not root, runs node, and copies only what the context holds', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const user = final.lines.filter((l) => l.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(JSON.parse(final.lines.find((l) => l.op === 'ENTRYPOINT')!.args)).toEqual(['node', '/app/bin/reelay']);
    const isIgnored = ignored();
    for (const stage of all) {
      for (const { op, args } of stage.lines.filter((l) => l.op === 'COPY')) {
        const parts = args.split(/\s+/);
        const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
        const sources = parts.filter((p) => !p.startsWith('--')).slice(0, -1);
        if (from) {
          // A stage named before this one.
          expect(all.slice(0, all.indexOf(stage)).map((s) => s.name)).toContain(from);
          continue;
        }
        for (const src of sources) {
          expect({ op, src, exists: fs.existsSync(path.join(ROOT, src)), ignored: isIgnored(src) }).toEqual({ op, src, exists: true, ignored: false });
        }
      }
    }
    // Nothing local or secret reaches the context.
    for (const p of ['node_modules', '.git', '.env', '.env.production', 'dist', '.reelay', 'test/x.ts']) expect(isIgnored(p)).toBe(true);
  });

  it('installs production dependencies only into the image', () => {
    const installs = all.flatMap((s) => s.lines.filter((l) => l.op === 'RUN' && /\bnpm (ci|install)\b/.test(l.args)).map((l) => ({ stage: s.name, args: l.args })));
    const copiedModules = final.lines.find((l) => l.op === 'COPY' && /\bnode_modules\b/.test(l.args))!;
    const fromStage = /--from=(\S+)/.exec(copiedModules.args)![1];
    expect(installs.find((i) => i.stage === fromStage)!.args).toMatch(/npm ci --omit=dev\b/);
    expect(final.lines.some((l) => l.op === 'RUN' && /\bnpm (ci|install)\b/.test(l.args))).toBe(false);
  });

  describe("the image's layout, run with plain node", () => {
    let app: string;
    let sandbox: Sandbox;
    beforeAll(async () => {
      app = path.join(tempDir('image'), 'app');
      fs.mkdirSync(app);
      for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, f), path.join(app, f));
      // The deps stage's own install command, as written (its `npm cache clean` is the image's business).
      const deps = all.find((s) => s.name === 'deps')!;
      const install = deps.lines.find((l) => l.op === 'RUN' && /npm ci/.test(l.args))!.args.split('&&')[0]!.trim().split(/\s+/);
      await run(install[0]!, [...install.slice(1), '--prefer-offline'], { cwd: app, env: childEnv(), maxBuffer: 64 << 20 });
      await run('npm', ['run', 'build'], { cwd: ROOT, env: childEnv(), maxBuffer: 64 << 20 });
      for (const d of ['dist', 'bin', 'schemas']) fs.cpSync(path.join(ROOT, d), path.join(app, d), { recursive: true });
      sandbox = await startSandbox({ timings: FAST_TIMINGS });
    });
    afterAll(async () => {
      await sandbox?.close();
      if (app) fs.rmSync(path.dirname(app), { recursive: true, force: true });
    });

    it('holds no package that only development needs', () => {
      // The lockfile marks each package only the devDependencies pull in as `dev`.
      const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
      const devOnly = Object.entries(lock.packages).filter(([p, meta]) => p && meta.dev).map(([p]) => p);
      expect(devOnly).toEqual(expect.arrayContaining(['node_modules/typescript', 'node_modules/jest', 'node_modules/tsx']));
      expect(devOnly.filter((p) => fs.existsSync(path.join(app, p)))).toEqual([]);
      expect(fs.existsSync(path.join(app, 'node_modules', '@temporalio', 'worker'))).toBe(true);
    });

    it('its entrypoint runs a worker that bundles its workflows, completes a pipeline and drains on SIGTERM', async () => {
      const taskQueue = `image-${Date.now()}`;
      const out = path.join(path.dirname(app), 'data');
      const env = childEnv({ ...sandbox.env(), NODE_ENV: 'production', TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: 'default', REELAY_TASK_QUEUE: taskQueue, REELAY_OUTPUT_DIR: path.join(out, 'output'), REELAY_STATE_DIR: path.join(out, 'state') });
      const [entry, ...entryArgs] = JSON.parse(final.lines.find((l) => l.op === 'ENTRYPOINT')!.args) as string[];
      const cmd = JSON.parse(final.lines.find((l) => l.op === 'CMD')!.args) as string[];
      // Inside the image /app is the root; here it is a temporary directory.
      const argv = [...entryArgs.map((a) => a.replace(/^\/app\//, `${app}/`)), ...cmd];
      expect(entry).toBe('node');
      const worker = spawn(process.execPath, argv, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      worker.stdout.on('data', (d: Buffer) => (log += d.toString()));
      worker.stderr.on('data', (d: Buffer) => (log += d.toString()));
      const client = await testClient();
      try {
        const started = await startPipeline(client, 'text2video', { text: 'From the image.', polling: FAST_POLLING }, { taskQueue });
        const result = await started.handle.result();
        expect(fs.statSync(result.output.path).size).toBe(result.output.bytes);
      } catch (err) {
        throw new Error(`${(err as Error).message}\nworker output:\n${log}`);
      } finally {
        await client.connection.close();
        worker.kill('SIGTERM');
      }
      const code = await new Promise<number | null>((resolve) => (worker.exitCode !== null ? resolve(worker.exitCode) : worker.once('exit', resolve)));
      expect({ code, log }).toEqual({ code: 0, log: expect.stringContaining('Worker stopped.') });
    });
  });
});

describe('the Kubernetes example', () => {
  const docs = yaml.loadAll(fs.readFileSync(path.join(ROOT, 'deploy/kubernetes/worker.yaml'), 'utf8')) as Array<{ kind: string; data?: Record<string, string>; stringData?: Record<string, string>; spec?: any }>;
  const config = docs.find((d) => d.kind === 'ConfigMap')!.data!;
  const secret = docs.find((d) => d.kind === 'Secret')!.stringData!;
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  const pod = deployment.spec.template.spec;

  it("sets only settings the worker accepts, each documented in the README's configuration table", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const names = [...Object.keys(config), ...Object.keys(secret)].filter((n) => !n.startsWith('AWS_'));
    expect(names.filter((n) => !readme.includes(`\`${n}\``))).toEqual([]);
    // Placeholders stand for real values; with those, the configuration loads.
    const env: NodeJS.ProcessEnv = { ...config, ...secret, REELAY_PAYLOAD_KEY: randomBytes(32).toString('base64') };
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('gives a pod longer to stop than the worker gives its activities, and probes the metrics port', () => {
    const grace = parseDuration(config.REELAY_SHUTDOWN_GRACE!)!;
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(grace);
    const container = pod.containers[0];
    const port = Number(config.REELAY_METRICS_ADDR!.split(':').at(-1));
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: port }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });
});

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !PAYLOAD_KEY_VARIABLES.includes(k)) env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}
