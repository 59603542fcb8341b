/** Where `reelay codec-server` and the dev stack serve the codec by default (Temporal's samples use 8081; 8089 avoids them). */
export const DEFAULT_CODEC_PORT = 8089;
