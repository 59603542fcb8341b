/**
 * Pure helpers on file references, without zod: workflows label files with them, and a workflow run
 * evaluates every module it reaches (src/workflows/index.ts). The FileRef schema is in ./common.
 */

export function isUrlRef(ref: string): boolean {
  return /^https?:\/\//i.test(ref);
}

/**
 * A file reference fit for progress logs and messages: a URL loses its query and fragment (a signed
 * URL's signature is there) and any user-info; a local path is shown as is.
 */
export function refLabel(ref: string): string {
  if (!isUrlRef(ref)) return ref;
  const noUser = ref.replace(/^(https?:\/\/)[^/?#]*@/i, '$1');
  const cut = noUser.search(/[?#]/);
  return cut === -1 ? noUser : `${noUser.slice(0, cut)}?…`;
}
