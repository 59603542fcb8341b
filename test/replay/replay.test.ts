import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type LogLevel, type WorkflowBundleOption } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import * as workflows from '../../src/workflows';
import { HISTORIES_DIR, HISTORY_FILE_MAX_BYTES, INDEX_FILE, historyShape, readHistoryFile, readHistoryText, readIndex, type RecordedHistory } from './history-files';

/**
 * Every history recorded by `npm run record-histories` stands for runs that may be open in production.
 * Replaying each against today's workflow code proves a deploy would not break them: a change to what a
 * workflow does (its commands, in order) fails here with the file name and Temporal's nondeterminism
 * error. Offline: the replay worker needs no server.
 */

const index = readIndex();
const FIXTURE_HISTORIES = path.join(__dirname, 'fixtures', 'histories');

function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.REELAY_TEST_LOG_LEVEL as LogLevel) || 'ERROR') });
  } catch {
    // Already installed by an earlier test file in this process.
  }
}

const silent = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never;

/** The bundle global setup built from src/workflows, or one built here when run without it. */
async function currentBundle(): Promise<WorkflowBundleOption> {
  const codePath = process.env.REELAY_TEST_WORKFLOW_BUNDLE;
  if (codePath && fs.existsSync(codePath)) return { codePath };
  return bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: silent });
}

async function fixtureBundle(name: string): Promise<WorkflowBundleOption> {
  return bundleWorkflowCode({ workflowsPath: require.resolve(`./fixtures/${name}`), logger: silent });
}

/** Replay the histories in one replay worker; the error of each, in order (undefined: it replayed). */
async function replayAll(workflowBundle: WorkflowBundleOption, entries: RecordedHistory[]): Promise<Array<Error | undefined>> {
  const histories = entries.map((e) => ({ workflowId: e.workflowId, history: readHistoryFile(e.file) }));
  const errors: Array<Error | undefined> = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'reelay-replay-test' }, histories)) errors.push(result.error);
  if (errors.length !== entries.length) throw new Error(`replayed ${errors.length} of ${entries.length} histories`);
  return errors;
}

beforeAll(quietRuntime);

describe('the recorded histories', () => {
  it('are all in the index, and every index entry has its file', () => {
    const files = fs.readdirSync(HISTORIES_DIR).filter((f) => (f.endsWith('.json') || f.endsWith('.json.gz')) && f !== INDEX_FILE).sort();
    expect(index.histories.map((h) => h.file).sort()).toEqual(files);
    expect(files.length).toBeGreaterThan(0);
  });

  it('cover every workflow type the worker registers', () => {
    const registered = Object.entries(workflows)
      .filter(([name, value]) => typeof value === 'function' && /(Pipeline|Workflow)$/.test(name))
      .map(([name]) => name)
      .sort();
    expect(registered.length).toBeGreaterThanOrEqual(8);
    const recorded = new Set(index.histories.map((h) => h.workflowType));
    expect(registered.filter((type) => !recorded.has(type))).toEqual([]);
  });

  it('are small and free of the recording machine\'s secrets', () => {
    for (const h of index.histories) {
      const stored = fs.statSync(path.join(HISTORIES_DIR, h.file)).size;
      expect({ file: h.file, tooLarge: stored > HISTORY_FILE_MAX_BYTES }).toEqual({ file: h.file, tooLarge: false });
      const text = readHistoryText(h.file);
      // Payloads are base64: decode every string long enough to hide a URL or a key.
      const decoded = text.replace(/"([A-Za-z0-9+/=]{16,})"/g, (_m, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
      expect({ file: h.file, signedUrl: /[?&](sig|signature|X-Amz-Signature)=/i.test(decoded) }).toEqual({ file: h.file, signedUrl: false });
      expect({ file: h.file, hostname: decoded.includes(`@${os.hostname()}`) }).toEqual({ file: h.file, hostname: false });
    }
  });
});

describe('replaying every recorded history against the current workflow code', () => {
  let errors: Map<string, Error | undefined>;

  beforeAll(async () => {
    const results = await replayAll(await currentBundle(), index.histories);
    errors = new Map(index.histories.map((h, i) => [h.file, results[i]]));
  }, 120_000);

  it.each(index.histories.map((h) => [h.file, h] as const))('%s', (file, entry) => {
    const error = errors.get(file);
    if (error) {
      throw new Error(
        `${file} no longer replays (${entry.workflowType}, scenario "${entry.scenario}": ${entry.description}; recorded at ${entry.gitCommit}). ` +
          `Runs like it in production would fail on the next deploy: guard the change with patched() (docs/evolving-workflows.md).\n${error.name}: ${error.message}`,
      );
    }
  });
});

describe('the replay check can fail, and patched() is how a change passes it', () => {
  const text2video = index.histories.filter((h) => h.workflowType === 'text2videoPipeline');
  /** Recorded by the patched code (`--workflows test/replay/fixtures/patched-change.ts`): it holds the patch marker. */
  const patchedRuns = readIndex(FIXTURE_HISTORIES).histories;
  const fromFixture = (entries: RecordedHistory[]) => entries.map((e) => ({ ...e, file: path.join(FIXTURE_HISTORIES, e.file) }));
  const bundles: Record<string, Promise<WorkflowBundleOption>> = {};
  const bundle = (name: string) => (bundles[name] ??= fixtureBundle(name));

  it('has text2video histories to try', () => {
    expect(text2video.map((h) => h.scenario)).toEqual(expect.arrayContaining(['happy-path', 'server-restart-resubmit']));
  });

  it('a new step added to text2videoPipeline without a patch fails every text2video history with a DeterminismViolationError', async () => {
    const unpatched = await bundle('unpatched-change');
    const errors = await replayAll(unpatched, text2video);
    for (const [i, error] of errors.entries()) {
      expect({ file: text2video[i]!.file, error: error?.name }).toEqual({ file: text2video[i]!.file, error: 'DeterminismViolationError' });
      expect(error).toBeInstanceOf(DeterminismViolationError);
      expect(error!.message).toMatch(/nondeterminism/i);
    }
    // The same check through the single-history entry point, as a reader would write it.
    await expect(
      Worker.runReplayHistory({ workflowBundle: unpatched }, readHistoryFile(text2video[0]!.file), text2video[0]!.workflowId),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 120_000);

  it('the same step guarded by patched() replays every text2video history cleanly, and the runs it started too', async () => {
    const entries = [...text2video, ...fromFixture(patchedRuns)];
    const errors = await replayAll(await bundle('patched-change'), entries);
    expect(errors.map((e, i) => [entries[i]!.file, e?.message])).toEqual(entries.map((h) => [h.file, undefined]));
  }, 120_000);

  it('a run started by the patched code holds the patch marker, so the patch cannot simply be removed again', async () => {
    expect(patchedRuns.map((h) => h.workflowType)).toEqual(['text2videoPipeline']);
    expect(historyShape(JSON.parse(fs.readFileSync(path.join(FIXTURE_HISTORIES, patchedRuns[0]!.file), 'utf8')))).toContain(
      'marker core_patch text2video-settle-before-submit',
    );
    const errors = await replayAll(await currentBundle(), fromFixture(patchedRuns));
    expect(errors[0]).toBeInstanceOf(DeterminismViolationError);
  }, 120_000);

  it('deprecatePatch() keeps the runs started by the patched code, and no longer the ones from before the patch', async () => {
    const deprecated = await bundle('deprecated-patch');
    const [patchedRun] = await replayAll(deprecated, fromFixture(patchedRuns));
    expect(patchedRun).toBeUndefined();
    const before = await replayAll(deprecated, text2video);
    for (const error of before) expect(error).toBeInstanceOf(DeterminismViolationError);
  }, 120_000);
});
