// Storage locations (a local directory, s3:// on any S3-compatible store, http(s) for inputs) and the
// object-store operations Reelay needs. No Temporal imports: activities pass signals and heartbeats in.
export * from './location';
export * from './config';
export * from './errors';
export * from './s3';
export * from './writer';
