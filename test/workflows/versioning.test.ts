import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { startPipeline } from '../../src/client';
import { startBatch } from '../../src/pipelines/batch/start';
import { createReelayWorker, type ReelayWorker } from '../../src/workers/worker';
import { text2videoOutput, sha256Hex } from '../../src/sandbox/derive';
import { FAST_POLLING, FAST_TIMINGS, quietRuntime, startHarness, tempDir, temporalAddress, type Harness } from '../support/harness';

const run = promisify(execFile);

/**
 * Worker Versioning (issue 15, item 5). Workers of version 1 run a pipeline; version 2 brings a workflow
 * change that version 1's runs cannot replay through and is made current with the `temporal` CLI. The
 * version-1 run finishes on version 1 (pinned), new runs go to version 2, and a batch (AUTO_UPGRADE)
 * follows the current version.
 */
jest.setTimeout(240_000);

describe('Worker Versioning: pinned pipelines, upgrading batches', () => {
  let h: Harness;
  let connection: NativeConnection;
  let v2Bundle: string;
  const deployment = `reelay-test-${randomUUID().slice(0, 8)}`;
  const workers: Array<{ worker: ReelayWorker; running: Promise<void> }> = [];

  const cli = (...args: string[]) =>
    run(process.env.REELAY_TEST_TEMPORAL_CLI!, [...args, '--address', temporalAddress(), '--namespace', 'default'], { maxBuffer: 16 << 20 });

  /** The CLI's set-current-version, retried until the version's workers have polled (it is unknown before). */
  async function makeCurrent(buildId: string): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      try {
        await cli('worker', 'deployment', 'set-current-version', '--deployment-name', deployment, '--build-id', buildId, '--yes');
        return;
      } catch (err) {
        if (Date.now() - t0 > 60_000) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async function startVersion(buildId: string, codePath: string): Promise<void> {
    const worker = await createReelayWorker({
      connection,
      namespace: 'default',
      taskQueue: h.taskQueue,
      outputRoot: h.outputRoot,
      env: { ...h.env, REELAY_DEPLOYMENT_NAME: deployment, REELAY_BUILD_ID: buildId },
      workflowBundle: { codePath },
    });
    workers.push({ worker, running: worker.run() });
  }

  /** The build id a run's workflow tasks went to, and its versioning behavior, as the server describes it. */
  async function versioning(workflowId: string): Promise<{ buildId: string | undefined; behavior: string }> {
    const info = (await h.client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.versioningInfo;
    const behavior = String(info?.behavior);
    return {
      buildId: info?.deploymentVersion?.buildId ?? undefined,
      behavior: behavior === '1' ? 'PINNED' : behavior === '2' ? 'AUTO_UPGRADE' : behavior,
    };
  }

  beforeAll(async () => {
    h = await startHarness({ timings: { ...FAST_TIMINGS, text2video: { queueMs: 50, stageMs: 1000 } } });
    quietRuntime();
    connection = await NativeConnection.connect({ address: temporalAddress() });
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../versioning/v2-workflows'), logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never });
    v2Bundle = path.join(tempDir('v2-bundle'), 'workflows.js');
    fs.writeFileSync(v2Bundle, code);
  });
  afterAll(async () => {
    for (const { worker } of workers) worker.shutdown();
    await Promise.allSettled(workers.map((w) => w.running));
    await connection?.close();
    await h?.close();
  });

  it('a version-1 run finishes on version 1 while new runs go to version 2; the batch follows the current version', async () => {
    await startVersion('v1', process.env.REELAY_TEST_WORKFLOW_BUNDLE!);
    await makeCurrent('v1');

    const oldStory = 'Started on version one.';
    const old = await startPipeline(h.client, 'text2video', { text: oldStory, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    // It is under way on version 1 before version 2 exists.
    const t0 = Date.now();
    while ((await versioning(old.workflowId)).buildId !== 'v1') {
      if (Date.now() - t0 > 30_000) throw new Error(`the run never reached version 1: ${JSON.stringify(await versioning(old.workflowId))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await versioning(old.workflowId)).toEqual({ buildId: 'v1', behavior: 'PINNED' });

    await startVersion('v2', v2Bundle);
    await makeCurrent('v2');
    const newStory = 'Started on version two.';
    const fresh = await startPipeline(h.client, 'text2video', { text: newStory, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    const manifest = path.join(tempDir('versioning-batch'), 'one.jsonl');
    fs.writeFileSync(manifest, `${JSON.stringify({ pipeline: 'text2video', input: { text: 'A batch item.', polling: FAST_POLLING } })}\n`);
    const batch = await startBatch(h.client, manifest, { taskQueue: h.taskQueue, outputRoot: h.outputRoot });

    const [oldResult, freshResult] = await Promise.all([old.handle.result(), fresh.handle.result()]);
    await batch.handle.result();
    expect(oldResult.output.sha256).toBe(sha256Hex(text2videoOutput(oldStory)));
    expect(freshResult.output.sha256).toBe(sha256Hex(text2videoOutput(newStory)));
    expect(await versioning(old.workflowId)).toEqual({ buildId: 'v1', behavior: 'PINNED' });
    expect(await versioning(fresh.workflowId)).toEqual({ buildId: 'v2', behavior: 'PINNED' });
    expect(await versioning(batch.batchId)).toEqual({ buildId: 'v2', behavior: 'AUTO_UPGRADE' });

    // Version 2's code is what ran the new run (its first command is the new timer), not the old one;
    // and it is a change the old run could not have replayed through.
    const firstCommand = async (id: string) =>
      (await h.client.workflow.getHandle(id).fetchHistory()).events?.find((e) => e.timerStartedEventAttributes || e.activityTaskScheduledEventAttributes);
    expect((await firstCommand(fresh.workflowId))?.timerStartedEventAttributes).toBeTruthy();
    expect((await firstCommand(old.workflowId))?.activityTaskScheduledEventAttributes).toBeTruthy();
    const oldHistory = await h.client.workflow.getHandle(old.workflowId).fetchHistory();
    expect(oldHistory.events?.some((e) => e.workflowTaskFailedEventAttributes)).toBe(false);
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: v2Bundle } }, oldHistory, old.workflowId)).rejects.toThrow(/[Nn]ondetermin/);
  });
});
