import { defineQuery } from '@temporalio/workflow';

export interface ProgressLogLine {
  at: string;
  message: string;
}

/** What the `progress` query returns for every pipeline. */
export interface PipelineProgress {
  pipeline: string;
  provider: string;
  stage: string;
  /** 0–100, an estimate from the stages done and the provider's own progress where it gives one. */
  percent: number;
  /** Provider job ids by role, e.g. `{ shotId: '746176', 'generateId:es-MX': '456' }`. */
  providerIds: Record<string, string>;
  /** The latest lines, oldest first. */
  log: ProgressLogLine[];
  startedAt: string;
  updatedAt: string;
  /** What was left running at the provider when the pipeline was cancelled or failed. */
  leftAtProvider?: string[];
}

export const progressQuery = defineQuery<PipelineProgress>('progress');
