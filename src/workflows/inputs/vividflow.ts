import { z } from 'zod';
import { VividflowGenerateRequest } from '../../providers/vividflow/schemas';
import { DeliveredFile, FileRef, PollingInput, RetryUnknownOutcome, SafeFileName, SafeSubdir, isS3Ref, isUrlRef } from './common';

/**
 * Jobs take ~2–5 min (the generate answer's estimated_wait_time): the first status call comes at the
 * estimate's lower end, then 10 s to 2 min apart as the job runs on; give up after 3 h.
 */
export const VIVIDFLOW_POLLING_DEFAULTS = {
  initialIntervalSeconds: 10,
  maxIntervalSeconds: 120,
  backoffCoefficient: 1.5,
  deadlineMinutes: 180,
  hints: true,
  timeScale: 1,
} as const;

const PromptPart = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters').optional();

/**
 * The provider's own request schema (every Wan 2.1 and Veo 3.1 parameter with its documented range, one
 * of imagePath or imageUrl, no parameter of the other model) plus what the pipeline adds.
 */
export const VividflowPipelineInput = VividflowGenerateRequest.safeExtend({
  prompt: z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
  // The docs give no limits for the other free-text fields; Reelay keeps them to prompt-sized text.
  negativePrompt: z.string().max(2000, 'must be at most 2000 characters').optional(),
  cameraMotion: PromptPart,
  subjectAnimation: PromptPart,
  environmentalAnimation: PromptPart,
  imagePath: FileRef.refine((s) => !isUrlRef(s) && !isS3Ref(s), 'must be a local file; use imageUrl for a URL (multipart image fields do not read s3:// yet)').optional(),
  outputName: SafeFileName.default('video.mp4'),
  outputSubdir: SafeSubdir.optional(),
  polling: PollingInput.optional(),
  retryUnknownOutcome: RetryUnknownOutcome,
}).strict();
export type VividflowPipelineInput = z.input<typeof VividflowPipelineInput>;
export type VividflowPipelineParsed = z.output<typeof VividflowPipelineInput>;

export const VividflowPipelineResult = z.object({
  jobId: z.string(),
  output: DeliveredFile,
  metrics: z.object({ generationTime: z.number().optional(), spinUpTime: z.number().optional(), totalTime: z.number().optional() }).optional(),
});
export type VividflowPipelineResult = z.infer<typeof VividflowPipelineResult>;
