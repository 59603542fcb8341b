import { z } from 'zod';
import { MediaContentType, DeliveredFile, FileRef, DurationSeconds, LanguageTag, PollingInput, TargetLanguages, SafeSubdir, CallerInput, PriorityInput } from '../../contract/common';
import { NotifyInput } from '../../contract/notify';

/** Output types a caller can ask to download (DubLab docs, "Output types"). */
export const DublabOutputType = z.enum([
  'translated_mp4',
  'translated',
  'translated_mp3',
  'translated_subtitle',
  'original',
  'original_mp4',
  'original_mp3',
  'original_subtitle',
  'poster',
]);
export type DublabOutputType = z.infer<typeof DublabOutputType>;

export const DublabPipelineInput = z
  .object({
    /** Video to dub: a local path or an http(s) URL; uploaded once for every language. */
    source: FileRef,
    contentType: MediaContentType.optional(),
    /** Display name at DubLab; defaults to the source's file name. */
    name: z.string().min(1).max(200).optional(),
    sourceLanguage: LanguageTag,
    targetLanguages: TargetLanguages,
    durationSeconds: DurationSeconds,
    outputTypes: z
      .array(DublabOutputType)
      .min(1, 'needs at least one output type')
      .refine((t) => new Set(t).size === t.length, 'must not repeat an output type')
      .default(['translated_mp4']),
    /** Check the credit balance with /me before starting any dub, and refuse when it is short. */
    checkCredits: z.boolean().default(false),
    outputSubdir: SafeSubdir.optional(),
    polling: PollingInput.optional(),
    notify: NotifyInput.optional(),
    priority: PriorityInput.optional(),
    caller: CallerInput.optional(),
  })
  .strict()
  .refine((i) => !i.targetLanguages.includes(i.sourceLanguage), {
    message: 'must not include the source language',
    path: ['targetLanguages'],
  });
export type DublabPipelineInput = z.input<typeof DublabPipelineInput>;
export type DublabPipelineParsed = z.output<typeof DublabPipelineInput>;

export const DublabLanguageResult = z.object({
  language: z.string(),
  fileId: z.string(),
  outputs: z.array(DeliveredFile.extend({ type: DublabOutputType })),
});
export type DublabLanguageResult = z.infer<typeof DublabLanguageResult>;

export const DublabPipelineResult = z.object({
  projectId: z.string(),
  dubs: z.array(DublabLanguageResult),
});
export type DublabPipelineResult = z.infer<typeof DublabPipelineResult>;
