import { z } from 'zod';
import { isGcsOrHttpsUrl } from '../../providers/schemas';
import { DeliveredFile, FileRef, PollingInput, RetryUnknownOutcome, SafeFileName, SafeSubdir, isUrlRef, CallerInput, PriorityInput } from '../../contract/common';
import { NotifyInput } from '../../contract/notify';

const PromptPart = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters').optional();
const positiveInt = z.number().int().positive();

/** `gs://bucket/path` or an https URL (Vivid Flow docs: "GCS URL or HTTPS URL"). */
const ImageUrl = z.string().refine(isGcsOrHttpsUrl, 'expected a gs://bucket/path or https:// URL');

/** The parameters of each model: one of the other model is refused (Vivid Flow would ignore it silently). */
const MODEL_PARAMS = {
  'wan2.1': ['negativePrompt', 'cfg', 'width', 'height', 'length', 'steps', 'seed'],
  'veo3.1': ['durationSeconds', 'resolution', 'cameraMotion', 'subjectAnimation', 'environmentalAnimation', 'enhancePrompt'],
} as const;

/**
 * Reelay's own durable input, with the documented ranges of every Wan 2.1 and Veo 3.1 parameter. It is
 * not the provider's wire schema (VividflowGenerateRequest): the activity maps it to that, so a fix to
 * the client's schema never changes how a running workflow replays. One of imagePath or imageUrl.
 */
export const VividflowPipelineInput = z
  .object({
    prompt: z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
    /** Vivid Flow's default is wan2.1. */
    model: z.enum(['wan2.1', 'veo3.1']).optional(),
    imagePath: FileRef.refine((s) => !isUrlRef(s), 'must be a local file or an s3:// object; use imageUrl for a URL').optional(),
    imageUrl: ImageUrl.optional(),
    // Wan 2.1. The docs give no limits for the free-text fields; Reelay keeps them to prompt-sized text.
    negativePrompt: z.string().max(2000, 'must be at most 2000 characters').optional(),
    cfg: z.number().min(1).max(20).optional(),
    width: positiveInt.optional(),
    height: positiveInt.optional(),
    length: positiveInt.optional(),
    steps: positiveInt.optional(),
    seed: z.number().int().optional(),
    // Veo 3.1
    durationSeconds: z.literal([4, 6, 8]).optional(),
    resolution: z.enum(['720p', '1080p']).optional(),
    cameraMotion: PromptPart,
    subjectAnimation: PromptPart,
    environmentalAnimation: PromptPart,
    enhancePrompt: z.boolean().optional(),
    outputName: SafeFileName.default('video.mp4'),
    outputSubdir: SafeSubdir.optional(),
    polling: PollingInput.optional(),
    retryUnknownOutcome: RetryUnknownOutcome,
    notify: NotifyInput.optional(),
    priority: PriorityInput.optional(),
    caller: CallerInput.optional(),
  })
  .strict()
  .superRefine((i, ctx) => {
    const hasPath = i.imagePath !== undefined;
    if (hasPath === (i.imageUrl !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [hasPath ? 'imageUrl' : 'imagePath'], message: hasPath ? 'give imagePath or imageUrl, not both' : 'one of imagePath or imageUrl is required' });
    }
    const model = i.model ?? 'wan2.1';
    const other = model === 'veo3.1' ? 'wan2.1' : 'veo3.1';
    for (const k of MODEL_PARAMS[other]) {
      if (i[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `applies to model ${other} only (model is ${model})` });
    }
  });
export type VividflowPipelineInput = z.input<typeof VividflowPipelineInput>;
export type VividflowPipelineParsed = z.output<typeof VividflowPipelineInput>;

export const VividflowPipelineResult = z.object({
  jobId: z.string(),
  output: DeliveredFile,
  metrics: z.object({ generationTime: z.number().optional(), spinUpTime: z.number().optional(), totalTime: z.number().optional() }).optional(),
});
export type VividflowPipelineResult = z.infer<typeof VividflowPipelineResult>;
