import type { WorkflowHandle } from '@temporalio/client';

/**
 * Every string a workflow's history holds, payloads decoded: the Temporal history is protobuf with
 * payload bytes (JSON-encoded values), so searching its JSON form alone would miss what is inside them.
 */
export async function historyText(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (value: unknown): void => {
    if (value === null || value === undefined) return;
    if (typeof value === 'string') parts.push(value);
    else if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('utf8'));
    else if (typeof value === 'object') {
      if (seen.has(value)) return;
      seen.add(value);
      for (const v of Array.isArray(value) ? value : Object.values(value)) walk(v);
    }
  };
  walk(history);
  return parts.join('\n');
}
