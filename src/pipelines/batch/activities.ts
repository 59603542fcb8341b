import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { ManifestEntry, type BatchResultRecord, type ManifestPageItem } from './input';
import { describeBalance, estimateCost, type BalanceLine } from './cost';
import { DublabClient } from '../dublab/client';
import { VividflowClient } from '../vividflow/client';
import { type ActivityDeps, pipelineOutputDir } from '../../activities/shared';

const READ_CHUNK_BYTES = 256 * 1024;

/** Read up to `limit` complete lines starting at byte `offset`; `nextOffset` is where the next page starts. */
export async function readLinesAt(file: string, offset: number, limit: number): Promise<{ lines: Array<{ text: string; offset: number }>; nextOffset: number; eof: boolean }> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const lines: Array<{ text: string; offset: number }> = [];
    let pos = offset;
    let pending = Buffer.alloc(0);
    let pendingStart = offset;
    for (;;) {
      const buf = Buffer.alloc(READ_CHUNK_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      pos += bytesRead;
      pending = Buffer.concat([pending, buf.subarray(0, bytesRead)]);
      let start = 0;
      for (let nl = pending.indexOf(10, start); nl !== -1 && lines.length < limit; nl = pending.indexOf(10, start)) {
        const text = pending.subarray(start, nl).toString('utf8');
        if (text.trim()) lines.push({ text, offset: pendingStart + start });
        start = nl + 1;
      }
      pending = pending.subarray(start);
      pendingStart += start;
      if (lines.length >= limit) return { lines, nextOffset: pendingStart, eof: false };
      if (bytesRead === 0) {
        const text = pending.toString('utf8');
        if (text.trim()) lines.push({ text, offset: pendingStart });
        return { lines, nextOffset: pendingStart + pending.length, eof: true };
      }
    }
  } finally {
    await fh.close();
  }
}

function parseEntry(file: string, text: string): ManifestEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`normalized manifest ${file} holds a line that is not JSON: ${(err as Error).message}`, 'InvalidManifest');
  }
  const parsed = ManifestEntry.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`normalized manifest ${file} holds a malformed entry: ${parsed.error.message}`, 'InvalidManifest');
  return parsed.data;
}

function missingManifest(file: string, err: unknown): never {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    throw ApplicationFailure.nonRetryable(`batch manifest ${file} does not exist on this worker (workers must share the file system the starter wrote it to)`, 'ManifestUnavailable');
  }
  throw err;
}

/** Batch bookkeeping: read the normalized manifest a page at a time, append results, select lines to retry. */
export function createBatchActivities(deps: ActivityDeps) {
  return {
    async batchReadManifest(args: { path: string; offset: number; limit: number }): Promise<{ items: ManifestPageItem[]; nextOffset: number; eof: boolean }> {
      const page = await readLinesAt(args.path, args.offset, args.limit).catch((err: unknown) => missingManifest(args.path, err));
      return { items: page.lines.map((l) => ({ ...parseEntry(args.path, l.text), offset: l.offset })), nextOffset: page.nextOffset, eof: page.eof };
    },

    /**
     * Append records to `<outputRoot>/<outputSubdir>/results.jsonl` in one write. A retried attempt may
     * append a record twice; readers keep the last record per line.
     */
    /**
     * The cost guard: estimate what the whole manifest will spend where the provider tells, and ask the
     * balance of each provider that will be charged (DubLab /me, Vivid Flow /usage; AI Studio has no
     * balance endpoint). Read once, before any item starts.
     */
    async batchCheckBalance(args: { manifestPath: string }): Promise<{ lines: BalanceLine[]; summary: string }> {
      const entries = fs
        .readFileSync(args.manifestPath, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => parseEntry(args.manifestPath, l));
      const est = estimateCost(entries);
      const lines: BalanceLine[] = [];
      if (est.dublabCredits > 0) {
        const { credits } = await DublabClient.fromSettings(deps.config.providers.dublab, { dispatcher: deps.dispatcher }).me();
        // GET /me may show no balance (the docs name no field): then it is unknown, not short.
        lines.push({ provider: 'dublab', needed: est.dublabCredits, unit: 'credits', available: credits ?? null, short: credits !== undefined && credits < est.dublabCredits });
      }
      if (est.vividflowCredits > 0) {
        const { creditsRemaining } = await VividflowClient.fromSettings(deps.config.providers.vividflow, { dispatcher: deps.dispatcher }).usage();
        lines.push({ provider: 'vividflow', needed: est.vividflowCredits, unit: 'credits', available: creditsRemaining, short: creditsRemaining < est.vividflowCredits });
      }
      if (est.aistudioTokens > 0) lines.push({ provider: 'aistudio', needed: est.aistudioTokens, unit: 'tokens', available: null, short: false });
      return { lines, summary: describeBalance(lines) };
    },

    async batchAppendResults(args: { outputSubdir: string; records: BatchResultRecord[] }): Promise<{ resultsPath: string }> {
      const dir = pipelineOutputDir(deps, args.outputSubdir);
      await fs.promises.mkdir(dir, { recursive: true });
      const resultsPath = path.join(dir, 'results.jsonl');
      if (args.records.length) await fs.promises.appendFile(resultsPath, args.records.map((r) => JSON.stringify(r) + '\n').join(''));
      else await (await fs.promises.open(resultsPath, 'a')).close();
      return { resultsPath };
    },

    /** Write the entries of `lines` to a manifest of their own next to the original (for retry-failed). */
    async batchSelectLines(args: { manifestPath: string; lines: number[]; name: string }): Promise<{ manifestPath: string; total: number }> {
      const wanted = new Set(args.lines);
      const target = path.join(path.dirname(args.manifestPath), `${args.name.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`);
      const out: string[] = [];
      for (let offset = 0, eof = false; !eof; ) {
        const page = await readLinesAt(args.manifestPath, offset, 1000).catch((err: unknown) => missingManifest(args.manifestPath, err));
        for (const l of page.lines) if (wanted.has(parseEntry(args.manifestPath, l.text).line)) out.push(l.text + '\n');
        ({ nextOffset: offset, eof } = page);
      }
      await fs.promises.writeFile(target, out.join(''));
      return { manifestPath: target, total: out.length };
    },
  };
}
