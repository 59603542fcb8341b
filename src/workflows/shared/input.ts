import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { describeZodError } from '../../contract/common';

/** Parse the input with the same schema the client used; a bad input fails the run without retrying. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(describeZodError(parsed.error), 'InvalidInput');
  return parsed.data;
}
