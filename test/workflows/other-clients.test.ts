/**
 * The README's "From any Temporal client" block, run as written with the real `temporal` CLI: a new user
 * who starts localizePipeline and batchPipeline by type name with the JSON shown there gets completed
 * runs. Only places and pace differ: /data/ is a temp directory, the task queue and workflow ids are this
 * file's own (the dev server is shared with other tests), and each input polls at the sandbox's pace.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PipelineWorkflow } from '../../src/client';
import type { batchPipeline } from '../../src/pipelines/batch/workflow';
import { ROOT, runProcess } from '../support/cli';
import { FAST_POLLING, FAST_TIMINGS, makeFile, startHarness, temporalAddress, tempDir, type Harness } from '../support/harness';

function readmeBlock(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- other-clients:');
  expect(at).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  return block![1]!;
}

describe("the README's temporal CLI example for other clients", () => {
  let h: Harness;
  let data: string;

  beforeAll(async () => {
    h = await startHarness({ timings: FAST_TIMINGS });
    await h.startWorker();
    data = tempDir('readme-data');
  });
  afterAll(async () => {
    await h?.close();
    fs.rmSync(data, { recursive: true, force: true });
  });

  it('starts localizePipeline and batchPipeline by type name, queries progress and waits for both results', async () => {
    makeFile(data, 'keynote.mp4', 60_000);
    const suffix = path.basename(data);
    // The sandbox runs its jobs in a fraction of a second: poll it as fast (the README's inputs use the
    // defaults, which would wait out LipDub's documented five minutes for a shot).
    const polling = JSON.stringify(FAST_POLLING);
    const fast = (text: string, end: string): string => {
      expect(text).toContain(end);
      return text.replaceAll(end, `${end.slice(0, -1)}, "polling": ${polling}}`);
    };
    const script = [`"durationSeconds": 1800}`, `{"text": "A story"}`, `"mockMode": true}`]
      .reduce(fast, readmeBlock())
      .replaceAll('/data/', `${data}/`)
      .replaceAll('--task-queue reelay', `--task-queue ${h.taskQueue}`)
      .replaceAll('localize-keynote', `localize-keynote-${suffix}`)
      .replaceAll('batch-first', `batch-first-${suffix}`);
    const cli = process.env.REELAY_TEST_TEMPORAL_CLI!;
    const run = await runProcess(['bash', '-euo', 'pipefail', '-c', script], {
      ...process.env,
      PATH: `${path.dirname(cli)}:${process.env.PATH}`,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: 'default',
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/"stage":/);

    const localize = await h.client.workflow.getHandle<PipelineWorkflow<'localize'>>(`localize-keynote-${suffix}`).result();
    expect(localize.languages.map((l) => [l.language, l.status])).toEqual([
      ['es', 'delivered'],
      ['de', 'delivered'],
    ]);
    const batch = await h.client.workflow.getHandle<typeof batchPipeline>(`batch-first-${suffix}`).result();
    expect(batch).toMatchObject({ status: 'completed', total: 2, succeeded: 2, failed: 0, cancelled: 0 });
  });
});
