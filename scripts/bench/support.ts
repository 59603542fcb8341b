/** What every benchmark section needs: a dev server of its own, process figures from /proc, statistics. */
import { createHash, randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, startDevServer, type DevServer } from '../../src/dev/temporal';
import type { BenchContext } from './types';

/** A whole number from the environment (a size or count of a section), or `fallback` when unset. */
export function envWholeNumber(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number ≥ ${min}`);
  return n;
}

export interface BenchServer {
  server: DevServer;
  client: Client;
  /** The server process's pid, for CPU and RSS. */
  pid: number;
  stop(): Promise<void>;
}

/** A fresh dev server (its own SQLite file under ctx.dir) and a client connected to it. */
export async function startBenchServer(ctx: BenchContext, name: string): Promise<BenchServer> {
  const dir = path.join(ctx.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  const server = await startDevServer({
    cliPath: ctx.temporalCli,
    dbFile: path.join(dir, 'temporal.db'),
    port: await freePort(),
    uiPort: await freePort(),
    logFile: path.join(dir, 'temporal.log'),
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  return {
    server,
    client,
    pid: server.process.pid!,
    stop: async () => {
      await connection.close();
      await server.stop();
    },
  };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number = process.pid): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident set size in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number = process.pid): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** Samples a process's RSS every `everyMs` and keeps the peak. */
export function rssSampler(pid: number = process.pid, everyMs = 100): { peak(): number; stop(): number } {
  let peak = rssBytes(pid);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // The process ended.
    }
  }, everyMs);
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(t);
      return peak;
    },
  };
}

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const median = (samples: number[]) => percentile(samples, 50);

export const MiB = 2 ** 20;

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function cores(): number {
  return os.cpus().length;
}

/** `size` random bytes to `file`, returning their sha256. */
export function writeRandomFile(file: string, size: number): string {
  const hash = createHash('sha256');
  const block = Buffer.allocUnsafe(8 * MiB);
  const fd = fs.openSync(file, 'w');
  try {
    for (let left = size; left > 0; ) {
      const chunk = block.subarray(0, Math.min(left, block.length));
      randomFillSync(chunk);
      hash.update(chunk);
      fs.writeSync(fd, chunk);
      left -= chunk.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}
