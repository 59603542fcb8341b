/** ISO 639-1 language codes. A language tag is one of these, optionally with a region (`es-MX`) or script (`zh-Hant`). */
export const ISO_639_1 = new Set(
  (
    'aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo es et ' +
    'eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl ' +
    'km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj ' +
    'om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to ' +
    'tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu'
  ).split(' '),
);

const TAG = /^([a-z]{2})(?:-([A-Z]{2}|[A-Z][a-z]{3}|\d{3}))?$/;

/** Why `tag` is not a language tag we accept, or undefined when it is. */
export function languageTagProblem(tag: string): string | undefined {
  const m = TAG.exec(tag);
  if (!m) return `"${tag}" is not a language tag like "es" or "es-MX"`;
  if (!ISO_639_1.has(m[1]!)) return `"${m[1]}" is not an ISO 639-1 language code`;
  return undefined;
}
