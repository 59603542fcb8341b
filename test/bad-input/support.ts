import type { CliRun } from '../support/cli';
import type { Harness } from '../support/harness';

/** Run `fn` over `items`, at most `limit` at a time (each CLI child costs a second or two of TypeScript loading). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  });
  await Promise.all(workers);
  return out;
}

/** The ids of every workflow ever started on the harness's task queue. */
export async function workflowsOnQueue(h: Harness): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of h.client.workflow.list({ query: `TaskQueue = '${h.taskQueue}'` })) ids.push(wf.workflowId);
  return ids.sort();
}

/** Sum of every sandbox counter: provider calls and signed-URL transfers alike. */
export function providerCalls(h: Harness): number {
  return Object.values(h.sandbox.counters()).reduce((a, b) => a + b, 0);
}

/** What a refusal on stderr must look like: no stack trace, no unclassified JavaScript error. */
export function expectNoCrash(r: CliRun): void {
  expect(r.stderr).not.toMatch(/^\s+at .+\(?.*:\d+:\d+\)?$/m);
  expect(r.stderr).not.toMatch(/\b(TypeError|ReferenceError|SyntaxError|RangeError|ZodError)\b/);
}
