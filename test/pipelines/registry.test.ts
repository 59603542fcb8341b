import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { estimateCost } from '../../src/pipelines/batch/cost';
import { parseManifest } from '../../src/pipelines/batch/manifest';
import { listQuery } from '../../src/cli/commands/list';
import { PIPELINE_NAMES, PIPELINE_SPECS, pipelineJsonSchemas, startPipeline, validatePipelineInput, type PipelineName } from '../../src/client';
import { loadConfig } from '../../src/config';
import { PROVIDER_ENV } from '../../src/providers/config';
import {
  BATCH_ITEM_PIPELINES,
  PACED_PROVIDERS,
  PIPELINES,
  PIPELINE_IDS,
  STARTABLE_PIPELINES,
  WORKFLOW_TYPES,
  pipelineWorkflowId,
  type StartablePipelineId,
} from '../../src/pipelines/registry';
import * as workflows from '../../src/workflows';
import { BIN, runProcess } from '../support/cli';

/**
 * Every registered pipeline reaches every list that used to be copied by hand: the worker's workflows,
 * the client's starters, `reelay start`, `reelay list`, the batch's item types and the cost guard. A
 * pipeline added to the registry and forgotten anywhere fails here (most places also fail to compile).
 */

/** A valid input per startable pipeline (URLs, so no file is needed). The mapped type makes a new pipeline add one. */
const SAMPLE_INPUTS: Record<StartablePipelineId, Record<string, unknown>> = {
  lipdub: { video: 'https://media.example/talk.mp4', audios: [{ source: 'https://media.example/es.mp3', language: 'es-MX' }] },
  dublab: { source: 'https://media.example/talk.mp4', sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 10 },
  text2video: { text: 'A lighthouse keeper writes a letter.' },
  vividflow: { prompt: 'The cat turns its head', imageUrl: 'https://media.example/cat.png' },
  aistudio: { prompt: 'A paper boat on a rainy street' },
  localize: { source: 'https://media.example/talk.mp4', sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 10 },
};

const entries = PIPELINE_IDS.map((id) => [id, PIPELINES[id]] as const);
const startable = STARTABLE_PIPELINES.map((id) => [id] as const);

/** A client that records what it is asked to start, enough for `startPipeline`. */
function recordingClient() {
  const starts: Array<{ workflowType: string; workflowId: string; provider: unknown }> = [];
  const client = {
    options: { namespace: 'default', loadedDataConverter: { payloadCodecs: [] } },
    workflow: {
      start: async (workflowType: string, opts: { workflowId: string; typedSearchAttributes: Array<{ value: unknown }> }) => {
        starts.push({ workflowType, workflowId: opts.workflowId, provider: opts.typedSearchAttributes[0]?.value });
        return { workflowId: opts.workflowId, firstExecutionRunId: 'run-1' };
      },
      // A keyed start first asks whether the key is taken (src/client: idempotent starts): here it never is.
      getHandle: (workflowId: string) => ({
        describe: () => Promise.reject(new WorkflowNotFoundError('not found', workflowId, undefined)),
      }),
    },
  };
  return { client: client as unknown as Client, starts };
}

describe('the pipeline registry', () => {
  it('names each pipeline, workflow type and id prefix once', () => {
    expect(new Set(WORKFLOW_TYPES).size).toBe(PIPELINE_IDS.length);
    expect(new Set(PIPELINE_IDS.map((id) => PIPELINES[id].idPrefix)).size).toBe(PIPELINE_IDS.length);
  });

  it.each(entries)('%s: the worker registers its workflow type, by name', (_id, p) => {
    expect(typeof (workflows as Record<string, unknown>)[p.workflowType]).toBe('function');
  });

  it('the worker registers no pipeline the registry does not list', () => {
    const pipelineExports = Object.keys(workflows).filter((name) => name.endsWith('Pipeline'));
    expect(pipelineExports.sort()).toEqual([...WORKFLOW_TYPES].sort());
  });

  it('the client starts exactly the startable pipelines', () => {
    expect([...PIPELINE_NAMES]).toEqual(PIPELINE_IDS.filter((id) => PIPELINES[id].startable));
    expect(Object.keys(PIPELINE_SPECS).sort()).toEqual([...PIPELINE_NAMES].sort());
  });

  it.each(startable)('%s: the client validates it and starts its workflow type under its id prefix', async (id) => {
    const pipeline: PipelineName = id;
    expect(() => validatePipelineInput(pipeline, SAMPLE_INPUTS[id])).not.toThrow();
    expect(() => validatePipelineInput(pipeline, {})).toThrow();
    const { client, starts } = recordingClient();
    const started = await startPipeline(client, pipeline, SAMPLE_INPUTS[id], { key: 'registry-check', taskQueue: 'nowhere' });
    expect(started.workflowId).toBe(pipelineWorkflowId(id, 'registry-check'));
    expect(started.workflowId).toBe(`${PIPELINES[id].idPrefix}-registry-check`);
    expect(starts).toEqual([{ workflowType: PIPELINES[id].workflowType, workflowId: started.workflowId, provider: PIPELINES[id].provider }]);
  });

  it.each(startable)('%s: its input and result have JSON Schemas naming its workflow type and every field a sample sends', (id) => {
    const schemas = pipelineJsonSchemas()[id];
    expect(schemas.workflowType).toBe(PIPELINES[id].workflowType);
    expect(schemas.input).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', additionalProperties: false });
    const properties = Object.keys((schemas.input as { properties: Record<string, unknown> }).properties);
    expect(properties).toEqual(expect.arrayContaining(Object.keys(SAMPLE_INPUTS[id])));
    expect(schemas.result).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: expect.any(Object) });
  });

  it('`reelay start --help` lists every startable pipeline, and only those', async () => {
    const r = await runProcess([process.execPath, BIN, 'start', '--help'], { ...process.env, NO_COLOR: '1' });
    expect(r.code).toBe(0);
    const named = [...r.stdout.matchAll(/^\s+reelay start ([a-z0-9]+) /gm)].map((m) => m[1]);
    expect(new Set(named)).toEqual(new Set(STARTABLE_PIPELINES));
    for (const id of STARTABLE_PIPELINES) expect(r.stdout).toContain(PIPELINES[id].title);
  });

  it.each(entries)('%s: `reelay list` asks for its workflow type', (_id, p) => {
    expect(listQuery({})).toContain(`'${p.workflowType}'`);
  });

  it.each(entries)('%s: a batch manifest line naming it is accepted exactly when the registry says it is a batch item', (id, p) => {
    const input = (SAMPLE_INPUTS as Record<string, Record<string, unknown>>)[id] ?? {};
    const { entries: accepted, problems } = parseManifest(JSON.stringify({ pipeline: id, input }), 'jsonl', { baseDir: '/' });
    if (p.batchItem) {
      expect(problems).toEqual([]);
      expect(accepted).toEqual([expect.objectContaining({ pipeline: id })]);
    } else {
      expect(problems).toEqual([{ line: 1, reason: expect.stringContaining(`is not one of ${BATCH_ITEM_PIPELINES.join(', ')}`) }]);
    }
  });

  it.each(entries)('%s: the cost guard prices it, or the registry says why not', (id, p) => {
    const input = (SAMPLE_INPUTS as Record<string, Record<string, unknown>>)[id] ?? {};
    const estimate = estimateCost([{ pipeline: id, input }]);
    const spent = Object.values(estimate).reduce((a, b) => a + b, 0);
    if (p.cost === 'estimated') {
      expect('estimate' in p && typeof p.estimate).toBe('function');
      expect(spent).toBeGreaterThan(0);
    } else {
      expect('estimate' in p).toBe(false);
      expect(spent).toBe(0);
      // A batch item the guard does not price is free or has no documented price; anything else is no batch item.
      expect(p.cost === 'not-a-batch-item').toBe(!p.batchItem);
    }
  });

  it('request limits are read exactly for the paced providers (the worker starts one paced queue per PACED_PROVIDERS entry)', () => {
    const providers = Object.keys(PROVIDER_ENV);
    for (const p of PACED_PROVIDERS) expect(providers).toContain(p);
    const env = Object.fromEntries(providers.map((p) => [`REELAY_${p.toUpperCase()}_REQUESTS_PER_SECOND`, '2']));
    const config = loadConfig(env);
    const paced = providers.filter((p) => config.providers[p as keyof typeof config.providers].requestsPerSecond === 2);
    expect(paced.sort()).toEqual([...PACED_PROVIDERS].sort());
  });
});
