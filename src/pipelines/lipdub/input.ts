import { z } from 'zod';
import { AudioContentType, DeliveredFile, FileRef, LanguageTag, PollingInput, ProviderIdRef, RetryUnknownOutcome, SafeFileName, SafeSubdir, VideoContentType, CallerInput, PriorityInput } from '../../contract/common';
import { NotifyInput } from '../../contract/notify';

/** A LipDub shot id: a positive whole number, or its digits as a string. */
export const ShotId = z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/, 'must be a numeric shot id')], {
  error: 'must be a numeric shot id (a positive whole number)',
});

export const LipdubAudioInput = z
  .object({
    /** Audio to upload: a local path or an http(s) URL. Give this or `audioId`. */
    source: FileRef.optional(),
    /** Reuse audio already uploaded to LipDub. */
    audioId: ProviderIdRef.optional(),
    contentType: AudioContentType.optional(),
    /** BCP 47 tag passed to generate, e.g. `es-MX`. */
    language: LanguageTag,
    maintainExpression: z.boolean().default(true),
    /** File name of the result in the output directory; defaults to `<language>.mp4`. */
    outputName: SafeFileName.optional(),
  })
  .strict()
  .refine((a) => (a.source === undefined) !== (a.audioId === undefined), {
    message: 'give exactly one of source or audioId',
    path: ['source'],
  });
export type LipdubAudioInput = z.infer<typeof LipdubAudioInput>;

export const LipdubPipelineInput = z
  .object({
    /** Video to upload: a local path or an http(s) URL. Give this or `shotId`. */
    video: FileRef.optional(),
    videoContentType: VideoContentType.optional(),
    /** Reuse a shot that LipDub has already processed and trained. */
    shotId: ShotId.optional(),
    projectName: z.string().min(1).max(200).optional(),
    sceneName: z.string().min(1).max(200).optional(),
    actorName: z.string().min(1).max(200).optional(),
    audios: z.array(LipdubAudioInput).min(1, 'needs at least one audio').max(50, 'at most 50 audios per pipeline'),
    /** Subdirectory of the worker's output directory; defaults to the workflow id. */
    outputSubdir: SafeSubdir.optional(),
    polling: PollingInput.optional(),
    retryUnknownOutcome: RetryUnknownOutcome,
    notify: NotifyInput.optional(),
    priority: PriorityInput.optional(),
    caller: CallerInput.optional(),
  })
  .strict()
  .refine((i) => (i.video === undefined) !== (i.shotId === undefined), {
    message: 'give exactly one of video or shotId',
    path: ['video'],
  })
  .superRefine((i, ctx) => {
    const names = new Map<string, number>();
    i.audios.forEach((a, index) => {
      const name = a.outputName ?? `${a.language}.mp4`;
      const first = names.get(name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['audios', index, 'outputName'], message: `"${name}" is also the output of audios.${first}; give each audio its own outputName` });
      } else names.set(name, index);
    });
  });
export type LipdubPipelineInput = z.input<typeof LipdubPipelineInput>;
export type LipdubPipelineParsed = z.output<typeof LipdubPipelineInput>;

export const LipdubOutput = DeliveredFile.extend({
  language: z.string(),
  audioId: z.string(),
  generateId: z.string(),
});
export type LipdubOutput = z.infer<typeof LipdubOutput>;

export const LipdubPipelineResult = z.object({
  shotId: z.string(),
  videoId: z.string().optional(),
  outputs: z.array(LipdubOutput),
});
export type LipdubPipelineResult = z.infer<typeof LipdubPipelineResult>;
