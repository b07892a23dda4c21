// UTF-8 for the binary codecs (wire frames, .lstrace): exact lengths, strict decoding, clamping free text.
// Hand-rolled because protocol/ runs in the webview too (no Buffer) and because a lone surrogate must be
// caught before encoding: TextEncoder would silently turn it into U+FFFD and break lossless round trips.

/** UTF-8 byte length of `s`, or -1 when it holds a lone surrogate (not losslessly encodable). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return -1;
      n += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1;
    else n += 3;
  }
  return n;
}

/** Writes well-formed `s` (checked by utf8Length) at `at`; returns the position after it. */
export function writeUtf8(s: string, buf: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) buf[at++] = c;
    else if (c < 0x800) {
      buf[at++] = 0xc0 | (c >> 6);
      buf[at++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      buf[at++] = 0xf0 | (c >> 18);
      buf[at++] = 0x80 | ((c >> 12) & 0x3f);
      buf[at++] = 0x80 | ((c >> 6) & 0x3f);
      buf[at++] = 0x80 | (c & 0x3f);
    } else {
      buf[at++] = 0xe0 | (c >> 12);
      buf[at++] = 0x80 | ((c >> 6) & 0x3f);
      buf[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}

// fatal: invalid sequences are errors, not U+FFFD; ignoreBOM: a leading U+FEFF is data, not a marker to drop.
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes buf[start, end) as strict UTF-8; null when the bytes are not valid UTF-8. */
export function readUtf8(buf: Uint8Array, start: number, end: number): string | null {
  if (end - start <= 32) {
    // Short ASCII (names, ops, addresses) is the common case; skip the native call and its view allocation.
    let s = '';
    let i = start;
    for (; i < end; i++) {
      const b = buf[i] as number;
      if (b >= 0x80) break;
      s += String.fromCharCode(b);
    }
    if (i === end) return s;
  }
  try {
    return strict.decode(buf.subarray(start, end));
  } catch {
    return null;
  }
}

/**
 * Free text (error messages, goodbye reasons) made fit for a length-limited field: lone surrogates become
 * U+FFFD and the text is cut at a character boundary to at most `maxBytes` UTF-8 bytes.
 */
export function clampUtf8(s: string, maxBytes: number): string {
  let n = 0;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let ch: string;
    let len: number;
    if (c < 0x80) [ch, len] = [s[i] as string, 1];
    else if (c < 0x800) [ch, len] = [s[i] as string, 2];
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        [ch, len] = [s.slice(i, i + 2), 4];
        i++;
      } else [ch, len] = ['\ufffd', 3];
    } else if (c >= 0xdc00 && c <= 0xdfff) [ch, len] = ['\ufffd', 3];
    else [ch, len] = [s[i] as string, 3];
    if (n + len > maxBytes) break;
    n += len;
    out += ch;
  }
  return out;
}
