/** The task queue of a provider's activities, beside the pipeline's own: `reelay` → `reelay-vividflow`. */
export function providerTaskQueue(taskQueue: string, provider: string): string {
  return `${taskQueue}-${provider}`;
}
