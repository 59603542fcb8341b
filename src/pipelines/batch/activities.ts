import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { isS3Ref, joinKey, parseS3Uri, s3Uri } from '../../storage/location';
import { StoreError } from '../../storage/errors';
import { BatchFiles, putResultRecords, renderResults, renderedResults, storeFor, storeResultsDir, type Lines } from './records';
import { ManifestEntry, type BatchResultRecord, type ManifestPageItem } from './input';
import { describeBalance, estimateCost, type BalanceLine } from './cost';
import { DublabClient } from '../dublab/client';
import { VividflowClient } from '../vividflow/client';
import { type ActivityDeps, pipelineOutputDir } from '../../activities/shared';

/** Read up to `limit` complete lines of a local file starting at byte `offset`; `nextOffset` is where the next page starts. */
export async function readLinesAt(file: string, offset: number, limit: number): Promise<Lines> {
  return new BatchFiles(undefined).readLines(file, offset, limit);
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
  if (err instanceof StoreError) {
    // A store that is down or slow is waited out (the bookkeeping proxy retries); a manifest that is not there is not.
    throw ApplicationFailure.create({ type: err.retryable ? 'StoreUnavailable' : 'ManifestUnavailable', message: `batch manifest: ${err.message}`, nonRetryable: !err.retryable });
  }
  throw err;
}

/** Batch bookkeeping: read the normalized manifest a page at a time, append results, select lines to retry. */
export function createBatchActivities(deps: ActivityDeps) {
  const storage = deps.config.storage;
  // A store is reached only when a reference names one, or when outputs go to one.
  const store = () => storeFor(storage.s3);
  const files = () => new BatchFiles(store());
  const filesFor = (ref: string) => (isS3Ref(ref) ? files() : new BatchFiles(undefined));
  const output = storage.output;
  return {
    async batchReadManifest(args: { path: string; offset: number; limit: number }): Promise<{ items: ManifestPageItem[]; nextOffset: number; eof: boolean }> {
      const page = await filesFor(args.path).readLines(args.path, args.offset, args.limit).catch((err: unknown) => missingManifest(args.path, err));
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
      const text = await filesFor(args.manifestPath).readText(args.manifestPath).catch((err: unknown) => missingManifest(args.manifestPath, err));
      const entries = text
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
      if (output.kind === 's3') {
        // In a store: one object per line under results/ (what readers list); results.jsonl is rendered at the end.
        const dir = storeResultsDir(output, args.outputSubdir);
        await putResultRecords(store(), dir, args.records);
        return { resultsPath: s3Uri(renderedResults(dir)) };
      }
      const dir = pipelineOutputDir(deps, args.outputSubdir);
      await fs.promises.mkdir(dir, { recursive: true });
      const resultsPath = path.join(dir, 'results.jsonl');
      if (args.records.length) await fs.promises.appendFile(resultsPath, args.records.map((r) => JSON.stringify(r) + '\n').join(''));
      else await (await fs.promises.open(resultsPath, 'a')).close();
      return { resultsPath };
    },

    /**
     * A batch in a store ends by rendering its results.jsonl from the result objects (line order, one
     * record per line), so a reader gets one file as from a local batch.
     */
    async batchRenderResults(args: { resultsPath: string }): Promise<{ resultsPath: string }> {
      const loc = parseS3Uri(args.resultsPath, { requireKey: true });
      const dir = { ...loc, key: joinKey(path.posix.dirname(loc.key), 'results') };
      return { resultsPath: await renderResults(store(), dir) };
    },

    /** Write the entries of `lines` to a manifest of their own next to the original (for retry-failed). */
    async batchSelectLines(args: { manifestPath: string; lines: number[]; name: string }): Promise<{ manifestPath: string; total: number }> {
      const wanted = new Set(args.lines);
      const batchFiles = filesFor(args.manifestPath);
      const out: string[] = [];
      for (let offset = 0, eof = false; !eof; ) {
        const page = await batchFiles.readLines(args.manifestPath, offset, 1000).catch((err: unknown) => missingManifest(args.manifestPath, err));
        for (const l of page.lines) if (wanted.has(parseEntry(args.manifestPath, l.text).line)) out.push(l.text + '\n');
        ({ nextOffset: offset, eof } = page);
      }
      const manifestPath = await batchFiles.writeBeside(args.manifestPath, `${args.name.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`, out.join(''));
      return { manifestPath, total: out.length };
    },
  };
}
