import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureGoTool, goToolCacheDir, type EnsuredGoTool } from './go-tool';
import { serverProcess } from './server-process';
import { freePort, portOpen } from './temporal';

/**
 * A real S3-compatible server for the tests and the demo: versitygw (Apache-2.0) with its POSIX backend,
 * built once from its Go module into the cache directory beside the `temporal` CLI, or any versitygw
 * binary the user points at (`REELAY_VERSITYGW`, then PATH). Nothing is downloaded at run time.
 */
export const VERSITYGW_VERSION = 'v1.8.0';
const VERSITYGW_MODULE = 'github.com/versity/versitygw/cmd/versitygw';

/** Credentials of the root account of the servers the harness starts: test-only, never a real secret. */
export const TEST_STORE_CREDENTIALS = Object.freeze({
  accessKeyId: 'reelay-test-access',
  secretAccessKey: 'reelay-test-secret-not-a-real-one',
});
export const TEST_STORE_REGION = 'us-east-1';
export const TEST_STORE_BUCKET = 'reelay-test';

const VERSITYGW = {
  binary: 'versitygw',
  title: 'versitygw',
  module: VERSITYGW_MODULE,
  version: VERSITYGW_VERSION,
  cacheName: 'versitygw',
  envVar: 'REELAY_VERSITYGW',
} as const;

export function versitygwCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return goToolCacheDir(VERSITYGW, env);
}

export type EnsureVersitygwResult = EnsuredGoTool<'REELAY_VERSITYGW'>;

/**
 * Find or build versitygw: `REELAY_VERSITYGW`, then `versitygw` on PATH, then the cache, else
 * `go install` from the Go module proxy into the cache. About a minute on a fresh 2-core machine,
 * module download included.
 */
export function ensureVersitygw(opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): EnsureVersitygwResult {
  return ensureGoTool(VERSITYGW, opts);
}

export interface ObjectStoreOptions {
  binary: string;
  /** The POSIX root (each subdirectory is a bucket); a fresh temporary directory, removed at stop, if unset. */
  rootDir?: string;
  port?: number;
  /** A bucket to create once the server answers; none if null. Default TEST_STORE_BUCKET. */
  bucket?: string | null;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  logFile?: string;
}

export interface ObjectStoreServer {
  /** `http://127.0.0.1:<port>`: use with path-style addressing. */
  endpoint: string;
  region: string;
  bucket: string | undefined;
  credentials: { accessKeyId: string; secretAccessKey: string };
  rootDir: string;
  process: ChildProcess;
  /**
   * Add an account (internal IAM). Role `user` may only use buckets it owns or that a bucket policy
   * opens to it: the tests use one to prove a refused write is reported as such.
   */
  createUser(accessKeyId: string, secretAccessKey: string, role?: 'user' | 'userplus' | 'admin'): void;
  /** An S3 client for this server as its root account. */
  client(): S3Client;
  stop(): Promise<void>;
}

/**
 * Start versitygw's POSIX backend on loopback with fixed credentials and internal IAM (in the root dir),
 * wait until it answers, and create the bucket. Resolves once the bucket exists.
 */
export async function startObjectStore(opts: ObjectStoreOptions): Promise<ObjectStoreServer> {
  const ownRoot = opts.rootDir === undefined;
  const rootDir = opts.rootDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'reelay-s3-'));
  const dataDir = path.join(rootDir, 'data');
  const iamDir = path.join(rootDir, 'iam');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(iamDir, { recursive: true });
  const credentials = opts.credentials ?? { ...TEST_STORE_CREDENTIALS };
  const region = opts.region ?? TEST_STORE_REGION;
  const port = opts.port ?? (await freePort());
  const ip = '127.0.0.1';
  if (await portOpen(ip, port)) throw new Error(`Something already listens on ${ip}:${port}`);
  const endpoint = `http://${ip}:${port}`;
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  // Credentials go through the environment (ROOT_ACCESS_KEY_ID …), not argv, where `ps` would show them.
  const child = spawn(opts.binary, ['--port', `${ip}:${port}`, '--region', region, '--iam-dir', iamDir, '--quiet', 'posix', dataDir], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ROOT_ACCESS_KEY_ID: credentials.accessKeyId, ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey },
  });
  if (typeof out === 'number') fs.closeSync(out);
  const server = serverProcess(child, () => {
    if (ownRoot) fs.rmSync(rootDir, { recursive: true, force: true });
  });
  const stop = server.stop;

  const client = () =>
    new S3Client({ endpoint, region, forcePathStyle: true, credentials, maxAttempts: 1 });

  const deadline = Date.now() + 30_000;
  while (!(await portOpen(ip, port))) {
    if (server.exitCode() !== null) {
      await stop();
      throw new Error(`versitygw exited with code ${server.exitCode()}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('versitygw did not open its port within 30s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const bucket = opts.bucket === null ? undefined : (opts.bucket ?? TEST_STORE_BUCKET);
  if (bucket) {
    const s3 = client();
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      await stop();
      throw new Error(`versitygw did not create bucket ${bucket}: ${(err as Error).message}`);
    } finally {
      s3.destroy();
    }
  }
  return {
    endpoint,
    region,
    bucket,
    credentials,
    rootDir,
    process: child,
    client,
    createUser: (accessKeyId, secretAccessKey, role = 'user') => createStoreUser({ binary: opts.binary, endpoint, admin: credentials }, { accessKeyId, secretAccessKey, role }),
    stop,
  };
}

/** Add an account to a running versitygw (its internal IAM) through its admin API, as `admin`. */
export function createStoreUser(
  server: { binary: string; endpoint: string; admin: { accessKeyId: string; secretAccessKey: string } },
  user: { accessKeyId: string; secretAccessKey: string; role?: 'user' | 'userplus' | 'admin' },
): void {
  const r = spawnSync(
    server.binary,
    ['admin', '--endpoint-url', server.endpoint, 'create-user', '--access', user.accessKeyId, '--secret', user.secretAccessKey, '--role', user.role ?? 'user'],
    { env: { ...process.env, ADMIN_ACCESS_KEY_ID: server.admin.accessKeyId, ADMIN_SECRET_ACCESS_KEY: server.admin.secretAccessKey }, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`versitygw admin create-user failed: ${r.stderr || r.stdout}`);
}

/** What tests read from the environment the jest global setup exports (see test/support/global-setup.ts). */
export const TEST_STORE_ENV = {
  endpoint: 'REELAY_TEST_S3_ENDPOINT',
  bucket: 'REELAY_TEST_S3_BUCKET',
  region: 'REELAY_TEST_S3_REGION',
  accessKeyId: 'REELAY_TEST_S3_ACCESS_KEY_ID',
  secretAccessKey: 'REELAY_TEST_S3_SECRET_ACCESS_KEY',
  binary: 'REELAY_TEST_VERSITYGW',
} as const;
