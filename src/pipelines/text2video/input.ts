import { z } from 'zod';
import { DeliveredFile, PollingInput, RetryUnknownOutcome, SafeFileName, SafeSubdir, CallerInput, PriorityInput } from '../../contract/common';
import { NotifyInput } from '../../contract/notify';

/** The server keeps jobs in memory; a restart forgets them (404). Resubmitting is free, up to this many times. */
export const TEXT2VIDEO_DEFAULT_MAX_RESUBMITS = 3;

export const Text2videoPipelineInput = z
  .object({
    /** The story or text to turn into a video. */
    text: z.string().trim().min(1, 'must not be empty').max(50_000, 'must be at most 50000 characters'),
    outputName: SafeFileName.default('video.mp4'),
    outputSubdir: SafeSubdir.optional(),
    maxResubmits: z.number().int().min(0).max(10).default(TEXT2VIDEO_DEFAULT_MAX_RESUBMITS),
    polling: PollingInput.optional(),
    retryUnknownOutcome: RetryUnknownOutcome,
    notify: NotifyInput.optional(),
    priority: PriorityInput.optional(),
    caller: CallerInput.optional(),
  })
  .strict();
export type Text2videoPipelineInput = z.input<typeof Text2videoPipelineInput>;
export type Text2videoPipelineParsed = z.output<typeof Text2videoPipelineInput>;

export const Text2videoPipelineResult = z.object({
  jobId: z.string(),
  /** How many times the job was submitted again because the server had forgotten it. */
  resubmits: z.number().int(),
  output: DeliveredFile,
});
export type Text2videoPipelineResult = z.infer<typeof Text2videoPipelineResult>;
