import { testStoreEnv } from './support';

/** The environment that points Reelay at the test store: output location, endpoint, region, credentials. */
export function storeEnv(prefix: string): NodeJS.ProcessEnv {
  const s = testStoreEnv();
  return {
    REELAY_OUTPUT_URL: `s3://${s.bucket}/${prefix}`,
    REELAY_S3_ENDPOINT: s.endpoint,
    REELAY_S3_REGION: s.region,
    AWS_ACCESS_KEY_ID: s.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s.secretAccessKey,
  };
}
