import { outputFiles, type OutcomeInfo, type OutputFile } from '../pipelines';
import { colorStatus, formatBytes, formatDuration, formatTable, styler } from '../render';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { CliError } from '../args';
import { print } from '../context';

/** How a closed pipeline is printed by start --wait, watch and cancel --wait. */

export function outputRows(files: OutputFile[]): string[][] {
  return files.map((f) => [f.label, f.path, formatBytes(f.bytes), f.sha256]);
}

export function printOutputs(files: OutputFile[], indent = '  '): void {
  if (!files.length) return;
  const table = formatTable(['OUTPUT', 'PATH', 'SIZE', 'SHA256'], outputRows(files));
  for (const line of table.trimEnd().split('\n')) print(indent + line);
}

export function printOutcome(workflowId: string, outcome: OutcomeInfo & { progress?: { leftAtProvider?: string[] } }, elapsedMs?: number): void {
  const st = styler(process.stdout);
  const took = elapsedMs !== undefined ? ` after ${formatDuration(elapsedMs)}` : '';
  print(`${workflowId} ${colorStatus(outcome.status, st)}${took}`);
  if (outcome.status === 'COMPLETED') printOutputs(outputFiles(outcome.result));
  else if (outcome.failure && outcome.status !== 'CANCELLED') print(`  ${st.red('Failure:')} ${outcome.failure}`);
  const left = outcome.progress?.leftAtProvider;
  if (left) print(`  Left at the provider: ${left.length ? left.join('; ') : 'nothing'}`);
}

export function outcomeJson(outcome: OutcomeInfo & { progress?: { leftAtProvider?: string[] } }): Record<string, unknown> {
  return {
    status: outcome.status,
    ...(outcome.status === 'COMPLETED' ? { outputs: outputFiles(outcome.result), result: outcome.result } : {}),
    ...(outcome.failure && outcome.status !== 'COMPLETED' ? { failure: outcome.failure } : {}),
    ...(outcome.failureType ? { failureType: outcome.failureType } : {}),
    ...(outcome.progress?.leftAtProvider ? { leftAtProvider: outcome.progress.leftAtProvider } : {}),
  };
}

/** An id no workflow has: the CLI exits 1 with its message, the dashboard answers 404. */
export class UnknownWorkflowError extends CliError {
  override name = 'UnknownWorkflowError';
  constructor(
    readonly workflowId: string,
    message: string,
  ) {
    super(message);
  }
}

/** `describe()`, with an unknown id turned into one clear CLI error (`what` names the kind of run). */
export async function describeOrFail(client: Client, handle: WorkflowHandle, what = 'workflow') {
  const { WorkflowNotFoundError } = await import('@temporalio/common');
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UnknownWorkflowError(handle.workflowId, `no ${what} with id ${handle.workflowId} in namespace ${client.options.namespace}`);
    throw err;
  }
}
