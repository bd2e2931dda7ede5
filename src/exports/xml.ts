/**
 * XML text and attribute values: characters XML 1.0 does not allow (most C0 controls, lone
 * surrogates, U+FFFE/U+FFFF) are dropped, markup characters escaped. The job's name is the
 * uploaded file's name, so this is user input.
 */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
