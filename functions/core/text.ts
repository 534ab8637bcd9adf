/**
 * Neutralisers for untrusted text, one per context it is rendered in. Untrusted is everything that came from an
 * alert (title, description, service, environment, tags, entity names, URLs), from a tool (log lines and
 * templates, change descriptions, incident history, on-call names), from a model, or from a human (approver names,
 * comments, rerun reasons): agent outputs embed all of these, so they are untrusted too.
 *
 * Each function makes the text read as the same literal text in its context, escaping only what is active there:
 *
 * | function            | context                                   | what it neutralises                                                   |
 * |---------------------|-------------------------------------------|-----------------------------------------------------------------------|
 * | `visibleControls`   | (shared by all below)                     | C0 (but the kept ones), DEL, C1 → `\xHH` (`\n` `\r` `\t` by name);     |
 * |                     |                                           | bidi controls U+202A–E, U+2066–9, U+200E/F, U+061C, U+2028/9 → `\uHHHH` |
 * | `mdText`            | Markdown inline text (paragraph, heading, | line breaks → space; controls visible; `\` before punctuation or at   |
 * |                     | list item, after a label)                 | the end; `` ` `` `*` `~` `[` `]` always; `_` unless inside a word;    |
 * |                     |                                           | `<` → `&lt;` where it opens a tag, comment or autolink (`<a`, `</`,   |
 * |                     |                                           | `<!`, `<?`, `<x@`): `<*>` stays; `&` that starts an entity → `&amp;`; |
 * |                     |                                           | a leading block marker (`#` `>` `=` `- ` `+ ` `1. `)                  |
 * | `mdCell`            | a GFM table cell                          | `mdText`, and `\|`                                                    |
 * | `mdCode`            | an inline code span                       | controls and line breaks visible; a backtick fence longer than any    |
 * |                     |                                           | backtick run inside (padded when the text starts or ends with one)    |
 * | `mdCodeBlock`       | a fenced code block                       | controls visible (line breaks kept); a fence longer than any run of   |
 * |                     |                                           | backticks inside, at least three                                      |
 * | `mdLink`            | a link the report makes                   | only an absolute http(s) URL becomes a link (percent-encoded where    |
 * |                     |                                           | Markdown would end it); anything else is shown as text                |
 * | `mdAuthored`        | Markdown someone else wrote (a model's    | outside fenced blocks and code spans: an active `<` → `&lt;`; a link, |
 * |                     | rewrite of the report)                    | image or reference definition whose destination is not http(s) or a  |
 * |                     |                                           | `#fragment` loses the bracket that makes it one; controls visible     |
 * | `escapeHtml`        | HTML element text and quoted attributes   | `& < > " '` → entities; controls visible (`\n` `\t` kept: whitespace)  |
 * | `terminalText`      | one field of a terminal line              | every control visible, `\n` and `\t` too (the CLI's own are not data) |
 * | `terminalBlock`     | a multi-line text the CLI composed        | every control visible but `\n` and `\t`                               |
 *
 * JSON output needs none of this: `JSON.stringify` escapes every control character, and `--json` keeps the
 * original values.
 */

const HEX2 = (code: number) => code.toString(16).padStart(2, '0');
const HEX4 = (code: number) => code.toString(16).padStart(4, '0');
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * C0 controls, DEL and C1 controls; the bidirectional formatting characters (embeddings, overrides, isolates and
 * marks: they reorder what a reader sees, "Trojan Source"); the Unicode line and paragraph separators.
 */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Makes every control character visible as an escape (`\x1b`, `\n`, `\u202e`), except those in `keep`. */
export const visibleControls = (value: unknown, keep = ''): string =>
  String(value ?? '').replace(CONTROLS, (c) => {
    if (keep.includes(c)) return c;
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${HEX2(code)}` : `\\u${HEX4(code)}`);
  });

// ───────────────────────────── Markdown ─────────────────────────────

const LINE_BREAKS = /\r\n|[\n\r\u000b\u000c\u0085\u2028\u2029]/g;
const WORD = /[\p{L}\p{N}]/u;
/** ASCII punctuation: what a backslash escapes in CommonMark. */
const PUNCTUATION = /[!-/:-@[-`{-~]/;

/**
 * Markdown's block markers at the start of a line: headings, setext underlines, bullet and ordered list items,
 * block quotes, thematic breaks (`*` and `_` are escaped everywhere).
 */
const LEADING_MARKER = /^(?:[#>=]|[-+](?=[-+ \t]|$)|\d{1,9}(?=[.)](?:[ \t]|$)))/;

/** A `<` that opens raw HTML or an autolink (sticky: tested at the `<`; the scan stops at the next `<` or space). */
const ACTIVE_LT = /<(?:[A-Za-z/!?]|[^\s<>]*@)/y;

const escapeInline = (text: string): string => {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1];
    switch (c) {
      case '\\':
        out += next === undefined || PUNCTUATION.test(next) ? '\\\\' : '\\';
        break;
      case '`':
      case '*':
      case '~':
      case '[':
      case ']':
        out += `\\${c}`;
        break;
      case '_':
        // Inside a word (`latency_p99_ms`) an underscore can neither open nor close emphasis.
        out += WORD.test(text[i - 1] ?? '') && WORD.test(next ?? '') ? '_' : '\\_';
        break;
      case '<':
        // What CommonMark reads as raw HTML or an autolink starts `<` + a letter, `/`, `!` or `?`; an e-mail
        // autolink has an `@` before the closing `>`. Without an active `<`, no `>` can close anything.
        ACTIVE_LT.lastIndex = i;
        out += ACTIVE_LT.test(text) ? '&lt;' : '<';
        break;
      case '&':
        out += /^&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});/.test(text.slice(i, i + 40)) ? '&amp;' : '&';
        break;
      default:
        out += c;
    }
  }
  return out;
};

/**
 * Untrusted text inline in Markdown: it renders as the same literal text, on one line, and cannot start a block,
 * open a link, an image, emphasis, a code span or raw HTML. Plain words, hyphens, dots, in-word underscores,
 * digits, percentages and parentheses are left as they are.
 */
export const mdText = (value: unknown): string => {
  const oneLine = visibleControls(String(value ?? '').replace(LINE_BREAKS, ' ')).replace(/^[ \t]+/, '');
  const escaped = escapeInline(oneLine);
  // A marker is only active at the start of a line; the text may be put there (a heading's title, a paragraph).
  const marker = LEADING_MARKER.exec(escaped);
  if (!marker) return escaped;
  return /^\d/.test(marker[0]) ? `${marker[0]}\\${escaped.slice(marker[0].length)}` : `\\${escaped}`;
};

/** Untrusted text in a GFM table cell: `mdText`, and the pipe that would end the cell. */
export const mdCell = (value: unknown): string => mdText(value).replace(/\|/g, '\\|');

const longestRun = (text: string, char: string): number => Math.max(0, ...[...text.matchAll(new RegExp(`\\${char}+`, 'g'))].map((m) => m[0].length));

/** Untrusted text as an inline code span: shown verbatim (controls and line breaks made visible). */
export const mdCode = (value: unknown): string => {
  const text = visibleControls(value);
  const fence = '`'.repeat(longestRun(text, '`') + 1);
  // CommonMark strips one space on each side when both are there: pad whenever an edge is a backtick or a space.
  const pad = /^[` ]|[` ]$/.test(text) ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
};

/** Untrusted multi-line text as a fenced code block (info string optional, a plain word). */
export const mdCodeBlock = (value: unknown, info = ''): string => {
  const text = visibleControls(String(value ?? '').replace(LINE_BREAKS, '\n'), '\n\t');
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  return `${fence}${/^[A-Za-z0-9_+-]*$/.test(info) ? info : ''}\n${text}\n${fence}`;
};

/** An absolute http(s) URL, normalised; undefined for anything else (javascript:, data:, relative, malformed). */
export const httpUrl = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
};

/** A link the report makes: only to an http(s) URL; anything else is shown as text beside the label. */
export const mdLink = (label: unknown, url: unknown): string => {
  const href = httpUrl(url);
  if (!href) return url === undefined || url === '' ? mdText(label) : `${mdText(label)} (${mdText(url)})`;
  // `new URL` already percent-encodes spaces, quotes and angle brackets; parentheses and backslashes would end
  // or escape the destination.
  const destination = href.replace(/[()\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `[${mdText(label)}](${destination})`;
};

/** A destination a link may keep: an absolute http(s) URL or a fragment of the same page (entities do not count). */
const SAFE_DESTINATION = /^\s*<?\s*(?:https?:\/\/|#)/i;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const REFERENCE_DEFINITION = /^( {0,3})\[((?:[^\]\\]|\\.)+)\]:(.*)$/;

/** One line of authored prose (no code span in it): raw HTML and autolinks escaped, unsafe links unmade. */
const neutraliseProse = (text: string): string => {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      out += text.slice(i, i + 2); // an escape stays one: `\<` and `\]` are already literal
      i++;
      continue;
    }
    if (c === '<') {
      ACTIVE_LT.lastIndex = i;
      out += ACTIVE_LT.test(text) ? '&lt;' : '<';
    } else if (c === ']' && text[i + 1] === '(' && !SAFE_DESTINATION.test(text.slice(i + 2, i + 2 + 64))) out += '\\]';
    else out += c;
  }
  return out;
};

/** A line cut into code spans (a run of n backticks to the next run of exactly n: literal) and the prose between. */
const splitCodeSpans = (line: string): { code: boolean; text: string }[] => {
  const parts: { code: boolean; text: string }[] = [];
  let prose = '';
  let i = 0;
  while (i < line.length) {
    if (line[i] === '\\') {
      prose += line.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (line[i] !== '`') {
      prose += line[i++];
      continue;
    }
    const run = /^`+/.exec(line.slice(i))![0];
    const close = new RegExp(`(?<!\`)${run}(?!\`)`, 'g');
    close.lastIndex = i + run.length;
    const end = close.exec(line);
    if (!end) {
      prose += run;
      i += run.length;
      continue;
    }
    parts.push({ code: false, text: prose }, { code: true, text: line.slice(i, end.index + run.length) });
    prose = '';
    i = end.index + run.length;
  }
  parts.push({ code: false, text: prose });
  return parts;
};

/**
 * Markdown written by someone else (an LLM's rewrite of the report, which read the alert's text): kept as written
 * — headings, lists, tables, emphasis, http(s) links — but no raw HTML, autolink, or link, image or reference
 * definition to anything but http(s) or a `#fragment` survives, and no control character. Fenced code blocks and
 * code spans are left as they are (their content is literal text).
 */
export const mdAuthored = (markdown: string): string => {
  const lines = visibleControls(String(markdown ?? '').replace(/\r\n?/g, '\n'), '\n\t').split('\n');
  let fence: string | undefined;
  return lines
    .map((line) => {
      const opening = FENCE.exec(line);
      if (fence) {
        if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length && line.trim() === opening[1].trim()) fence = undefined;
        return line;
      }
      if (opening) {
        fence = opening[1];
        return line;
      }
      const definition = REFERENCE_DEFINITION.exec(line);
      if (definition && !SAFE_DESTINATION.test(definition[3])) return `${definition[1]}\\[${definition[2]}]:${neutraliseProse(definition[3])}`;
      return splitCodeSpans(line)
        .map(({ code, text }) => (code ? text : neutraliseProse(text)))
        .join('');
    })
    .join('\n');
};

// ───────────────────────────── HTML ─────────────────────────────

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values; control characters are made visible. */
export const escapeHtml = (value: unknown): string => visibleControls(value, '\n\t').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

// ───────────────────────────── terminal ─────────────────────────────

/** One untrusted field of a terminal line: no control character reaches the terminal, line breaks included. */
export const terminalText = (value: unknown): string => visibleControls(value);

/** A multi-line text the CLI composed from untrusted fields: its own line breaks and tabs kept, nothing else. */
export const terminalBlock = (value: unknown): string => visibleControls(value, '\n\t');
