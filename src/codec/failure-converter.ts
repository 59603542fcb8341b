import { DefaultFailureConverter } from '@temporalio/common';

/**
 * The failure converter of an encrypting deployment, loaded by path (`failureConverterPath`) on the
 * client, the worker and inside the workflow bundle: a failure's message and stack trace move into
 * `encodedAttributes`, a payload the codec encrypts, and the history keeps only "Encoded failure".
 * Runs in the workflow sandbox too, so it imports nothing but @temporalio/common.
 */
export class ReelayEncodedFailureConverter extends DefaultFailureConverter {
  /** Found in a workflow bundle's code when the bundle was built with this converter. */
  static readonly MARKER = 'reelay-encoded-failure-converter/v1';
  readonly marker = ReelayEncodedFailureConverter.MARKER;

  constructor() {
    super({ encodeCommonAttributes: true });
  }
}

export const failureConverter = new ReelayEncodedFailureConverter();
