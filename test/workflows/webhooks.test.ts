import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { InputError, startPipeline, validatePipelineInput } from '../../src/client';
import { webhookDeliveryWorkflowId, type NotifyEvent, type WebhookDeliveryResult } from '../../src/contract/notify';
import { ManifestError } from '../../src/pipelines/batch/manifest';
import { startBatch } from '../../src/pipelines/batch/start';
import { webhookMessageId } from '../../src/webhooks/signature';
import { runCli } from '../support/cli';
import { FAST_POLLING, startHarness, tempDir, type Harness, waitForProgress } from '../support/harness';
import { killed, spawnWorker } from '../support/processes';
import { newWebhookSecret, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * Signed completion webhooks (docs/webhooks.md) from pipelines on a real dev server, the sandbox providers
 * and real HTTP receivers on loopback that verify every signature with the `standardwebhooks` package.
 */

interface Body {
  type: string;
  timestamp: string;
  data: { workflowId: string; runId: string; workflowType: string; status: string; result?: Record<string, unknown>; failure?: { message: string; type?: string }; outputs: string[] };
}

/** The delivery child of a run's event, once it has ended. */
async function delivery(client: Client, workflowId: string, runId: string, event: NotifyEvent): Promise<WebhookDeliveryResult> {
  return client.workflow.getHandle(webhookDeliveryWorkflowId(workflowId, runId, event)).result() as Promise<WebhookDeliveryResult>;
}

/** The failure of a delivery child that cannot succeed. */
async function deliveryFailure(client: Client, workflowId: string, runId: string, event: NotifyEvent): Promise<ApplicationFailure> {
  const err = await client.workflow.getHandle(webhookDeliveryWorkflowId(workflowId, runId, event)).result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(ActivityFailure);
  return (err as WorkflowFailedError).cause!.cause as ApplicationFailure;
}

const { ParentClosePolicy } = { ParentClosePolicy: { ABANDON: temporal.api.enums.v1.ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON } };
const bodies = (r: WebhookReceiver) => [...r.accepted.values()] as Body[];

describe('completion webhooks', () => {
  const { secret } = newWebhookSecret();
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness(
      { timings: { text2video: { queueMs: 0, stageMs: 30 }, aistudio: { pendingMs: 0, runMs: 0, mockRunMs: 0 } } },
      // Refused deliveries are retried after 0.2 s, 0.4 s, 0.8 s … here, not 5 s, 10 s, 20 s.
      { env: { REELAY_WEBHOOK_SECRET: secret, REELAY_WEBHOOK_RETRY_INITIAL_SECONDS: '0.2' } },
    );
    await h.startWorker();
    dir = tempDir('webhooks-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a completed run is delivered once per webhook id through a receiver that fails its first three deliveries; the run closed before', async () => {
    const receiver = await startWebhookReceiver(secret, { failFirst: 3 });
    try {
      const started = await startPipeline(h.client, 'text2video', { text: 'A story with a webhook.', polling: FAST_POLLING, notify: { url: receiver.url } }, { taskQueue: h.taskQueue });
      const result = await started.handle.result();
      // The run does not wait for the delivery: it closed while the receiver was still refusing.
      expect(receiver.accepted.size).toBe(0);
      await receiver.waitForAccepted(1, 20_000);
      const done = await delivery(h.client, started.workflowId, started.runId, 'completed');
      const id = webhookMessageId(started.workflowId, started.runId, 'completed');
      expect(done).toEqual({ webhookId: id, status: 204, attempt: 4 });
      expect(receiver.attempts(id)).toBe(4);
      expect(receiver.deliveries.map((d) => [d.headers.id, d.verified, d.answered])).toEqual([
        [id, true, 500],
        [id, true, 500],
        [id, true, 500],
        [id, true, 204],
      ]);
      // Every attempt carries the same body, each its own timestamp.
      expect(new Set(receiver.deliveries.map((d) => d.body)).size).toBe(1);
      expect([...receiver.accepted.keys()]).toEqual([id]);
      const [body] = bodies(receiver);
      expect(body).toEqual({
        type: 'pipeline.completed',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        data: { workflowId: started.workflowId, runId: started.runId, workflowType: 'text2videoPipeline', status: 'completed', result: JSON.parse(JSON.stringify(result)), outputs: [result.output.path] },
      });
      // The abandoned child outlived its parent; the parent's history shows the hand-off and nothing after it.
      const events = (await started.handle.fetchHistory()).events ?? [];
      const initiated = events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!);
      expect(initiated.map((c) => [c.workflowId, c.parentClosePolicy])).toEqual([[webhookDeliveryWorkflowId(started.workflowId, started.runId, 'completed'), ParentClosePolicy.ABANDON]]);
      expect(events.some((e) => e.childWorkflowExecutionStartedEventAttributes)).toBe(true);
      expect(events.some((e) => e.childWorkflowExecutionCompletedEventAttributes || e.childWorkflowExecutionFailedEventAttributes)).toBe(false);
      expect(events.at(-1)!.workflowExecutionCompletedEventAttributes).toBeTruthy();
    } finally {
      await receiver.close();
    }
  });

  it('a failed run sends pipeline.failed with the failure; events not asked for are not sent', async () => {
    const receiver = await startWebhookReceiver(secret);
    h.sandbox.configure({ text2video: { failTexts: ['doomed story'] } });
    try {
      const failing = await startPipeline(h.client, 'text2video', { text: 'A doomed story.', polling: FAST_POLLING, notify: { url: receiver.url, events: ['failed'] } }, { taskQueue: h.taskQueue });
      const quiet = await startPipeline(h.client, 'text2video', { text: 'A quiet story.', polling: FAST_POLLING, notify: { url: receiver.url, events: ['failed', 'cancelled'] } }, { taskQueue: h.taskQueue });
      const err = await failing.handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      await quiet.handle.result();
      await receiver.waitForAccepted(1);
      const [body] = bodies(receiver);
      expect(body!.type).toBe('pipeline.failed');
      expect(body!.data).toEqual({
        workflowId: failing.workflowId,
        runId: failing.runId,
        workflowType: 'text2videoPipeline',
        status: 'failed',
        failure: { message: expect.stringMatching(/text2video job .* failed/), type: 'ProviderJobFailed' },
        outputs: [],
      });
      await expect(h.client.workflow.getHandle(webhookDeliveryWorkflowId(quiet.workflowId, quiet.runId, 'completed')).describe()).rejects.toThrow(/not found/i);
      expect(receiver.deliveries).toHaveLength(1);
    } finally {
      h.sandbox.configure({ text2video: { failTexts: [] } });
      await receiver.close();
    }
  });

  it('a start around the client with a bad input but a good notify sends pipeline.failed with InvalidInput; a bad notify sends nothing', async () => {
    const receiver = await startWebhookReceiver(secret);
    try {
      // The input is checked by the validateInput activity, which also tells the run whether notify alone is good.
      const badText = await h.client.workflow.start('text2videoPipeline', { taskQueue: h.taskQueue, workflowId: 'webhook-bad-text', args: [{ text: '', notify: { url: receiver.url } }] });
      const badNotify = await h.client.workflow.start('text2videoPipeline', { taskQueue: h.taskQueue, workflowId: 'webhook-bad-notify', args: [{ text: 'fine', notify: { url: `${receiver.url}#x` } }] });
      for (const handle of [badText, badNotify]) {
        const err = await handle.result().catch((e: unknown) => e);
        expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
      }
      await receiver.waitForAccepted(1);
      const [body] = bodies(receiver);
      expect(body!.type).toBe('pipeline.failed');
      expect(body!.data).toMatchObject({ workflowId: 'webhook-bad-text', status: 'failed', failure: { message: expect.stringMatching(/^input\.text: /), type: 'InvalidInput' } });
      await expect(h.client.workflow.getHandle(webhookDeliveryWorkflowId('webhook-bad-notify', badNotify.firstExecutionRunId, 'failed')).describe()).rejects.toThrow(/not found/i);
      expect(receiver.deliveries).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('a cancelled run sends pipeline.cancelled from its non-cancellable cleanup', async () => {
    const receiver = await startWebhookReceiver(secret);
    h.sandbox.configure({ timings: { text2video: { stageMs: 60_000 } } });
    try {
      const started = await startPipeline(h.client, 'text2video', { text: 'A story never finished.', polling: FAST_POLLING, notify: { url: receiver.url } }, { taskQueue: h.taskQueue });
      await waitForProgress(started.handle, (p) => p.stage === 'generating');
      await started.handle.cancel();
      const err = await started.handle.result().catch((e: unknown) => e);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      await receiver.waitForAccepted(1);
      const [body] = bodies(receiver);
      expect(body!.type).toBe('pipeline.cancelled');
      expect(body!.data).toMatchObject({ workflowId: started.workflowId, status: 'cancelled', failure: { message: expect.any(String) }, outputs: [] });
      expect((await delivery(h.client, started.workflowId, started.runId, 'cancelled')).attempt).toBe(1);
    } finally {
      h.sandbox.configure({ timings: { text2video: { stageMs: 30 } } });
      await receiver.close();
    }
  });

  it('a batch notifies once when it ends (not when it continues as new), and each line that asks for it, for its own run', async () => {
    const receiver = await startWebhookReceiver(secret);
    try {
      const file = path.join(dir, 'notify.jsonl');
      const lines = [
        { pipeline: 'text2video', input: { text: 'Line one, quiet.', polling: FAST_POLLING } },
        { pipeline: 'aistudio', input: { prompt: 'line two asks', mockMode: true, polling: FAST_POLLING, notify: { url: receiver.url } }, key: 'two' },
        { pipeline: 'text2video', input: { text: 'Line three, quiet.', polling: FAST_POLLING } },
      ];
      fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      // One item per run: the batch continues as new twice, and notifies only at its real end.
      const started = await startBatch(h.client, file, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 1, itemsPerRun: 1, notify: { url: receiver.url } });
      const result = await started.handle.result();
      expect(result).toMatchObject({ status: 'completed', succeeded: 3, runs: 3 });
      await receiver.waitForAccepted(2);
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.accepted.size).toBe(2);
      const byType = Object.fromEntries(bodies(receiver).map((b) => [b.data.workflowType, b]));
      expect(byType.batchPipeline).toMatchObject({ type: 'pipeline.completed', data: { workflowId: started.batchId, status: 'completed', outputs: [result.resultsPath] } });
      expect(byType.batchPipeline!.data.result).toMatchObject({ batchId: started.batchId, succeeded: 3 });
      expect(byType.aistudioPipeline).toMatchObject({ type: 'pipeline.completed', data: { workflowId: expect.stringContaining(started.batchId), status: 'completed' } });
      expect(byType.aistudioPipeline!.data.outputs).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('a receiver holding another secret rejects every delivery: the signature does not verify', async () => {
    const receiver = await startWebhookReceiver(newWebhookSecret().secret);
    try {
      const started = await startPipeline(h.client, 'aistudio', { prompt: 'signed for someone else', mockMode: true, polling: FAST_POLLING, notify: { url: receiver.url } }, { taskQueue: h.taskQueue });
      await started.handle.result();
      await receiver.waitForDelivery(2);
      expect(receiver.accepted.size).toBe(0);
      for (const d of receiver.deliveries.slice(0, 2)) expect(d).toMatchObject({ verified: false, answered: 401, verifyError: 'No matching signature found' });
      await h.client.workflow.getHandle(webhookDeliveryWorkflowId(started.workflowId, started.runId, 'completed')).terminate('test done');
    } finally {
      await receiver.close();
    }
  });

  it('without a secret on the worker, a delivery fails at once naming REELAY_WEBHOOK_SECRET; with private addresses refused, it names the address', async () => {
    const receiver = await startWebhookReceiver(secret);
    await h.stopWorker();
    const saved = { ...h.env };
    try {
      delete h.env.REELAY_WEBHOOK_SECRET;
      await h.startWorker();
      const unsigned = await startPipeline(h.client, 'aistudio', { prompt: 'no secret', mockMode: true, polling: FAST_POLLING, notify: { url: receiver.url } }, { taskQueue: h.taskQueue });
      await unsigned.handle.result();
      const noSecret = await deliveryFailure(h.client, unsigned.workflowId, unsigned.runId, 'completed');
      expect(noSecret).toMatchObject({ type: 'WebhookNotConfigured', nonRetryable: true });
      expect(noSecret.message).toMatch(/REELAY_WEBHOOK_SECRET/);

      await h.stopWorker();
      Object.assign(h.env, { REELAY_WEBHOOK_SECRET: secret, REELAY_WEBHOOK_ALLOW_PRIVATE: 'false' });
      await h.startWorker();
      const local = await startPipeline(h.client, 'aistudio', { prompt: 'to loopback', mockMode: true, polling: FAST_POLLING, notify: { url: receiver.url } }, { taskQueue: h.taskQueue });
      await local.handle.result();
      const refused = await deliveryFailure(h.client, local.workflowId, local.runId, 'completed');
      expect(refused).toMatchObject({ type: 'WebhookAddressRefused', nonRetryable: true });
      expect(refused.message).toMatch(/resolves to 127\.0\.0\.1, a private, loopback .*REELAY_WEBHOOK_ALLOW_PRIVATE/);
      expect(receiver.deliveries).toHaveLength(0);
    } finally {
      await h.stopWorker();
      for (const k of Object.keys(h.env)) delete h.env[k];
      Object.assign(h.env, saved);
      await h.startWorker();
      await receiver.close();
    }
  });

  it('the edge refuses a notify URL that is not http(s), carries credentials or a fragment, naming input.notify.url', async () => {
    const input = (url: string) => ({ text: 'x', notify: { url } });
    for (const [url, message] of [
      ['ftp://hooks.example.com/in', /^input\.notify\.url: must be an http:\/\/ or https:\/\/ URL$/],
      ['https://user:pw@hooks.example.com/in', /^input\.notify\.url: must not carry a user name or password/],
      ['https://hooks.example.com/in#frag', /^input\.notify\.url: must not have a fragment/],
      [`https://hooks.example.com/${'a'.repeat(2100)}`, /^input\.notify\.url: must be at most 2048 characters$/],
    ] as const) {
      let err: unknown;
      try {
        validatePipelineInput('text2video', input(url));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).problems).toEqual([expect.stringMatching(message)]);
    }
    expect(() => validatePipelineInput('text2video', { text: 'x', notify: { url: 'https://hooks.example.com/in', events: ['done'] } })).toThrow(/input\.notify\.events\.0: /);
    const jobFile = path.join(dir, 'ftp-notify.json');
    fs.writeFileSync(jobFile, JSON.stringify(input('ftp://hooks.example.com/in')));
    const cli = await runCli(h, ['start', 'text2video', '--input', jobFile]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/input\.notify\.url: must be an http:\/\/ or https:\/\/ URL/);
    const creds = path.join(dir, 'creds-notify.json');
    fs.writeFileSync(creds, JSON.stringify(input('https://user:pw@hooks.example.com/in')));
    const cli2 = await runCli(h, ['start', 'text2video', '--input', creds]);
    expect(cli2.code).toBe(2);
    expect(cli2.stderr).toMatch(/input\.notify\.url: must not carry a user name or password/);
    expect(cli2.stderr).not.toContain('user:pw');
    // A batch manifest line is a pipeline input: its notify is checked with the line's number, before anything starts.
    const manifest = path.join(dir, 'bad-notify.jsonl');
    fs.writeFileSync(manifest, `${JSON.stringify({ pipeline: 'text2video', input: input('ftp://hooks.example.com/in') })}\n`);
    const bad = (await startBatch(h.client, manifest, { taskQueue: h.taskQueue, outputRoot: h.outputRoot }).catch((e: unknown) => e)) as ManifestError;
    expect(bad).toBeInstanceOf(ManifestError);
    expect(bad.message).toMatch(/line 1: input\.notify\.url: must be an http:\/\/ or https:\/\/ URL/);
    // And so is the batch's own.
    const ok = path.join(dir, 'ok.jsonl');
    fs.writeFileSync(ok, `${JSON.stringify({ pipeline: 'text2video', input: { text: 'x' } })}\n`);
    await expect(startBatch(h.client, ok, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, notify: { url: 'https://u:p@hooks.example.com/' } })).rejects.toThrow(/input\.notify\.url: must not carry a user name or password/);
  });
});

describe('completion webhooks survive a worker killed mid-delivery', () => {
  const { secret } = newWebhookSecret();
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ timings: { aistudio: { pendingMs: 0, runMs: 0, mockRunMs: 0 } } }, { env: { REELAY_WEBHOOK_SECRET: secret, REELAY_WEBHOOK_RETRY_INITIAL_SECONDS: '0.2' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('a worker SIGKILLed while the receiver holds the delivery open: the next worker delivers it again under the same webhook-id', async () => {
    // The first delivery is held open (no answer) until its worker is gone.
    const receiver = await startWebhookReceiver(secret, { hold: (_d, index) => index === 0 });
    const workerEnv = { ...h.env, REELAY_TEST_TEMPORAL_ADDRESS: process.env.REELAY_TEST_TEMPORAL_ADDRESS, REELAY_TEST_WORKFLOW_BUNDLE: process.env.REELAY_TEST_WORKFLOW_BUNDLE };
    let worker = await spawnWorker(workerEnv);
    try {
      const started = await startPipeline(h.client, 'aistudio', { prompt: 'a crash mid-delivery', mockMode: true, polling: FAST_POLLING, notify: { url: receiver.url } }, { taskQueue: h.taskQueue });
      await started.handle.result();
      await receiver.waitForDelivery(1);
      await killed(worker);
      worker = await spawnWorker(workerEnv);
      // The lost attempt is noticed by its 10 s heartbeat timeout, then retried after the policy's 5 s.
      await receiver.waitForAccepted(1, 60_000);
      const id = webhookMessageId(started.workflowId, started.runId, 'completed');
      expect(receiver.deliveries.length).toBeGreaterThanOrEqual(2);
      expect(new Set(receiver.deliveries.map((d) => d.headers.id))).toEqual(new Set([id]));
      expect(receiver.deliveries.every((d) => d.verified)).toBe(true);
      expect([...receiver.accepted.keys()]).toEqual([id]);
      expect(new Set(receiver.deliveries.map((d) => d.body)).size).toBe(1);
      const done = await delivery(h.client, started.workflowId, started.runId, 'completed');
      expect(done).toMatchObject({ webhookId: id, status: 204 });
      expect(done.attempt).toBeGreaterThanOrEqual(2);
    } finally {
      await killed(worker);
      await receiver.close();
    }
  }, 120_000);
});
