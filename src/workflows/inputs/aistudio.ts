import { z } from 'zod';
import { AistudioAspectRatio, AistudioCreateJobRequest, AistudioResolution } from '../../providers/aistudio/schemas';
import { DeliveredFile, FileRef, PollingInput, RetryUnknownOutcome, SafeFileName, SafeSubdir, isS3Ref, isUrlRef } from './common';

/**
 * Veo jobs take 3–10 min (docs); the waits follow the job's progress rate, 10 s to 2 min apart (plain
 * backoff 10 s × 1.5 to 2 min before the first reading); give up after 3 h.
 */
export const AISTUDIO_POLLING_DEFAULTS = {
  initialIntervalSeconds: 10,
  maxIntervalSeconds: 120,
  backoffCoefficient: 1.5,
  deadlineMinutes: 180,
  hints: true,
  timeScale: 1,
} as const;

/** Waiting for one of the user's 3 concurrent slots: 15 s → 2 min between tries. */
export const AISTUDIO_SLOT_WAIT_DEFAULTS = { initialSeconds: 15, maxSeconds: 120 } as const;

const LocalImage = FileRef.refine((s) => !isUrlRef(s) && !isS3Ref(s), 'must be a local image file (multipart image fields do not read s3:// yet)');

/** The provider's own request schema (documented limits) with Reelay's defaults and pipeline fields. */
export const AistudioPipelineInput = z
  .object({
  ...AistudioCreateJobRequest.shape,
  prompt: z.string().trim().min(1, 'must not be empty').max(5000, 'must be at most 5000 characters').optional(),
  model: z.string().min(1).max(100).default('veo-3.1-fast-generate-preview'),
  resolution: AistudioResolution.default('720p'),
  aspectRatio: AistudioAspectRatio.default('16:9'),
  /** The provider's test mode: no Veo call, still 50 tokens. */
  mockMode: z.boolean().default(false),
  initialImage: LocalImage.optional(),
  endFrame: LocalImage.optional(),
  referenceImages: z.array(LocalImage).max(3, 'at most 3 reference images').optional(),
  outputName: SafeFileName.default('video.mp4'),
  outputSubdir: SafeSubdir.optional(),
  polling: PollingInput.optional(),
  retryUnknownOutcome: RetryUnknownOutcome,
  slotWait: z
    .object({ initialSeconds: z.number().min(0.05).max(600).optional(), maxSeconds: z.number().min(0.05).max(3600).optional() })
    .strict()
    .optional(),
  })
  .strict()
  .refine((i) => i.prompt !== undefined || i.initialImage !== undefined, {
    message: 'give a prompt or an initialImage (or both)',
    path: ['prompt'],
  });
export type AistudioPipelineInput = z.input<typeof AistudioPipelineInput>;
export type AistudioPipelineParsed = z.output<typeof AistudioPipelineInput>;

export const AistudioPipelineResult = z.object({
  jobId: z.string(),
  output: DeliveredFile,
  tokensConsumed: z.number().optional(),
  /** How many times the create was refused for the 3-job limit before it was accepted. */
  slotWaits: z.number().int(),
});
export type AistudioPipelineResult = z.infer<typeof AistudioPipelineResult>;
