import { z } from 'zod';
import { DeliveredFile, FileRef, DurationSeconds, LanguageTag, PollingInput, TargetLanguages, SafeSubdir, CallerInput, PriorityInput } from '../../contract/common';
import { AistudioPipelineInput } from '../aistudio/input';
import { ShotId } from '../lipdub/input';
import { Text2videoPipelineInput } from '../text2video/input';
import { VividflowPipelineInput } from '../vividflow/input';
import { NotifyInput } from '../../contract/notify';

/** Generate the source first with one of the generation pipelines (its output becomes the source). */
export const LocalizeGenerateStep = z.discriminatedUnion('pipeline', [
  z.object({ pipeline: z.literal('text2video'), input: Text2videoPipelineInput }).strict(),
  z.object({ pipeline: z.literal('vividflow'), input: VividflowPipelineInput }).strict(),
  z.object({ pipeline: z.literal('aistudio'), input: AistudioPipelineInput }).strict(),
]);

export const LocalizePipelineInput = z
  .object({
    /** The source video: a local path or an http(s) URL. Give this or `generate`. */
    source: FileRef.optional(),
    generate: LocalizeGenerateStep.optional(),
    sourceLanguage: LanguageTag,
    targetLanguages: TargetLanguages,
    durationSeconds: DurationSeconds,
    maintainExpression: z.boolean().default(true),
    /** Also deliver DubLab's subtitles per language. */
    subtitles: z.boolean().default(true),
    /** Reuse a LipDub shot of this source (a re-run): no video upload, no shot processing. */
    shotId: ShotId.optional(),
    /** Reuse dubbed audio per language (a re-run): those languages skip DubLab. */
    dubbedAudio: z.record(z.string(), FileRef).optional(),
    outputSubdir: SafeSubdir.optional(),
    polling: PollingInput.optional(),
    notify: NotifyInput.optional(),
    priority: PriorityInput.optional(),
    caller: CallerInput.optional(),
  })
  .strict()
  .superRefine((i, ctx) => {
    if ((i.source === undefined) === (i.generate === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'give exactly one of source or generate' });
    }
    if (i.targetLanguages.includes(i.sourceLanguage)) {
      ctx.addIssue({ code: 'custom', path: ['targetLanguages'], message: 'must not include the source language' });
    }
    for (const lang of Object.keys(i.dubbedAudio ?? {})) {
      if (!i.targetLanguages.includes(lang)) {
        ctx.addIssue({ code: 'custom', path: ['dubbedAudio', lang], message: `"${lang}" is not one of targetLanguages` });
      }
    }
  });
export type LocalizePipelineInput = z.input<typeof LocalizePipelineInput>;
export type LocalizePipelineParsed = z.output<typeof LocalizePipelineInput>;

export const LocalizeLanguageResult = z.object({
  language: z.string(),
  status: z.enum(['delivered', 'failed']),
  /** Which step failed: the dub at DubLab or the lip-sync at LipDub. */
  failedAt: z.enum(['generate', 'dublab', 'lipdub']).optional(),
  error: z.string().optional(),
  video: DeliveredFile.optional(),
  dubbedAudio: DeliveredFile.optional(),
  subtitles: DeliveredFile.optional(),
});
export type LocalizeLanguageResult = z.infer<typeof LocalizeLanguageResult>;

export const LocalizePipelineResult = z.object({
  source: z.string(),
  projectId: z.string().optional(),
  shotId: z.string().optional(),
  languages: z.array(LocalizeLanguageResult),
  /** For a run where some languages failed: the input that re-runs only those, reusing what is done. */
  rerunInput: z.unknown().optional(),
});
export type LocalizePipelineResult = z.infer<typeof LocalizePipelineResult>;
