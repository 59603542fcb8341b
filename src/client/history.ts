import type { Client } from '@temporalio/client';

/**
 * The argument a run was started with, read from its first history event and decoded with the client's
 * data converter (so through payload encryption, where a plain JSON parse would see ciphertext).
 */
export async function startInput(client: Client, workflowId: string, runId?: string): Promise<unknown> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  const converter = client.options.loadedDataConverter;
  let decoded = payload;
  for (const codec of [...converter.payloadCodecs].reverse()) [decoded] = await codec.decode([decoded]);
  return converter.payloadConverter.fromPayload(decoded);
}
