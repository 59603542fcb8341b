import type { DataConverter, LoadedDataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from './aes-gcm';
import { ReelayEncodedFailureConverter } from './failure-converter';
import { payloadKeysFromEnv, type PayloadKeys } from './keys';
import { OTEL_WORKFLOW_INTERCEPTORS, tracingSettings } from '../telemetry/settings';

export { AesGcmPayloadCodec, PayloadDecryptionError, ENCRYPTED_ENCODING, KEY_ID_METADATA } from './aes-gcm';
export { PAYLOAD_KEY_ENV, PAYLOAD_KEY_ID_ENV, PAYLOAD_OLD_KEYS_ENV, PayloadKeyConfigError, deriveKeyId, payloadKeysFromEnv, type PayloadKeys } from './keys';

/** The module the client, the worker and the workflow bundle load the encrypting failure converter from. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The payload codec the environment configures (see keys.ts); without keys it encrypts nothing. */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmPayloadCodec {
  return new AesGcmPayloadCodec(payloadKeysFromEnv(env));
}

/**
 * The data converter of every Reelay client and worker. The codec is always installed: without keys it
 * passes payloads through and only turns "binary/encrypted" into a clear error naming the variable to
 * set. With a current key, payloads are encrypted and failures' messages and stack traces too.
 */
export function reelayDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return dataConverterForKeys(payloadKeysFromEnv(env));
}

/** The same, from keys already read (the `payloadKeys` of a loaded configuration, src/config.ts). */
export function dataConverterForKeys(keys: PayloadKeys | undefined): DataConverter {
  const codec = new AesGcmPayloadCodec(keys);
  return { payloadCodecs: [codec], ...(codec.encrypting ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}) };
}

/**
 * Options for bundleWorkflowCode, so a prebuilt workflow bundle encodes failures when encryption is on
 * and carries the OpenTelemetry workflow interceptors when tracing is on (src/telemetry).
 */
export function workflowBundleOptions(env: NodeJS.ProcessEnv = process.env): { failureConverterPath?: string; workflowInterceptorModules?: string[] } {
  return {
    ...(payloadCodecFromEnv(env).encrypting ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}),
    ...(tracingSettings(env) ? { workflowInterceptorModules: [OTEL_WORKFLOW_INTERCEPTORS] } : {}),
  };
}

/** Whether a workflow bundle's code was built with the encrypting failure converter. */
export function bundleEncodesFailures(code: string): boolean {
  return code.includes(ReelayEncodedFailureConverter.MARKER);
}

/** The Reelay codec of a client's or worker's data converter when it encrypts new payloads. */
export function encryptingCodec(dataConverter: DataConverter | LoadedDataConverter | undefined): AesGcmPayloadCodec | undefined {
  const codec = dataConverter?.payloadCodecs?.find((c): c is AesGcmPayloadCodec => c instanceof AesGcmPayloadCodec);
  return codec?.encrypting ? codec : undefined;
}
