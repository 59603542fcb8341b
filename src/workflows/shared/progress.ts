import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { PipelineProgress } from '../../contract/progress';
import { REELAY_JOB_IDS, REELAY_PROVIDER, REELAY_STAGE } from '../../contract/search-attributes';

export { progressQuery, type PipelineProgress } from '../../contract/progress';

const LOG_LINES_KEPT = 20;

/**
 * Progress state of one pipeline: answers the `progress` query, mirrors itself into the UI's current
 * details, and keeps the stage and provider ids in search attributes. Updates to search attributes are
 * made only when a value changes, so a long wait adds no events.
 */
export class ProgressTracker {
  private readonly state: PipelineProgress;
  private readonly summary: string;

  constructor(pipeline: string, provider: string, summary: string) {
    const now = new Date().toISOString();
    this.summary = summary;
    this.state = { pipeline, provider, stage: 'starting', percent: 0, providerIds: {}, log: [], startedAt: now, updatedAt: now };
    upsertSearchAttributes([
      { key: REELAY_PROVIDER, value: provider },
      { key: REELAY_STAGE, value: 'starting' },
    ]);
    this.render();
  }

  get snapshot(): PipelineProgress {
    return this.state;
  }

  stage(stage: string, percent?: number, message?: string): void {
    if (stage !== this.state.stage) {
      this.state.stage = stage;
      upsertSearchAttributes([{ key: REELAY_STAGE, value: stage }]);
    }
    if (percent !== undefined) this.state.percent = Math.max(0, Math.min(100, Math.round(percent)));
    if (message) this.log(message);
    else this.render();
  }

  percent(percent: number): void {
    this.state.percent = Math.max(0, Math.min(100, Math.round(percent)));
    this.render();
  }

  log(message: string): void {
    this.state.log.push({ at: new Date().toISOString(), message });
    if (this.state.log.length > LOG_LINES_KEPT) this.state.log.splice(0, this.state.log.length - LOG_LINES_KEPT);
    this.render();
  }

  providerId(role: string, id: string): void {
    if (this.state.providerIds[role] === id) return;
    this.state.providerIds[role] = id;
    const ids = [...new Set(Object.values(this.state.providerIds))];
    upsertSearchAttributes([{ key: REELAY_JOB_IDS, value: ids }]);
    this.render();
  }

  leftAtProvider(items: string[]): void {
    this.state.leftAtProvider = items;
    this.render();
  }

  private render(): void {
    this.state.updatedAt = new Date().toISOString();
    const ids = Object.entries(this.state.providerIds)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    const last = this.state.log[this.state.log.length - 1]?.message;
    // Markdown joins single line breaks into one paragraph (the UI showed "… Stage: dubbing (25%) Provider
    // ids: …" on one line): the facts are a list under the summary, one item a line.
    const facts = [
      `**Stage:** ${this.state.stage} (${this.state.percent}%)`,
      ids ? `**Provider ids:** ${ids}` : undefined,
      last ? `**Last:** ${last}` : undefined,
      this.state.leftAtProvider?.length ? `**Left at provider:** ${this.state.leftAtProvider.join('; ')}` : undefined,
    ].filter(Boolean);
    setCurrentDetails([`**${this.summary}**`, '', ...facts.map((f) => `- ${f}`)].join('\n'));
  }
}

