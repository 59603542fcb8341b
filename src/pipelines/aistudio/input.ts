import { z } from 'zod';
import { DeliveredFile, FileRef, PollingInput, RetryUnknownOutcome, SafeFileName, SafeSubdir, isUrlRef, CallerInput, PriorityInput } from '../../contract/common';
import { NotifyInput } from '../../contract/notify';

const LocalImage = FileRef.refine((s) => !isUrlRef(s), 'must be a local image file or an s3:// object');

/**
 * Reelay's own durable input, with AI Studio's documented limits and Reelay's defaults. It is not the
 * provider's wire schema (AistudioCreateJobRequest): the activity maps it to that, so a fix to the
 * client's schema never changes how a running workflow replays.
 */
export const AistudioPipelineInput = z
  .object({
  prompt: z.string().trim().min(1, 'must not be empty').max(5000, 'must be at most 5000 characters').optional(),
  model: z.string().min(1).max(100).default('veo-3.1-fast-generate-preview'),
  resolution: z.enum(['720p', '1080p']).default('720p'),
  aspectRatio: z.enum(['16:9', '9:16']).default('16:9'),
  durationSeconds: z.literal([4, 8]).optional(),
  /** The provider's test mode: no Veo call, still 50 tokens. */
  mockMode: z.boolean().default(false),
  /** AI-generated audio (the provider's default: none). */
  generateAudio: z.boolean().optional(),
  initialImage: LocalImage.optional(),
  endFrame: LocalImage.optional(),
  referenceImages: z.array(LocalImage).max(3, 'at most 3 reference images').optional(),
  outputName: SafeFileName.default('video.mp4'),
  outputSubdir: SafeSubdir.optional(),
  polling: PollingInput.optional(),
  retryUnknownOutcome: RetryUnknownOutcome,
  notify: NotifyInput.optional(),
  priority: PriorityInput.optional(),
  caller: CallerInput.optional(),
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
