// "Version 2" of the workflow code for test/workflows/versioning.test.ts: every workflow as it is, except
// text2videoPipeline, which now sleeps before it starts — a change of command sequence that a run
// recorded by version 1 cannot replay through.
import { sleep } from '@temporalio/workflow';
import { text2videoPipeline as version1 } from '../../src/workflows';
import type { Text2videoPipelineInput, Text2videoPipelineResult } from '../../src/pipelines/text2video/input';

export * from '../../src/workflows';

export async function text2videoPipeline(input: Text2videoPipelineInput): Promise<Text2videoPipelineResult> {
  await sleep(10);
  return version1(input);
}
