import { describe, expect, it } from 'vitest';
import { escapeHtml, httpUrl, mdAuthored, mdCell, mdCode, mdCodeBlock, mdLink, mdText, terminalBlock, terminalText, visibleControls } from '../../../functions/core/text.ts';

const ESC = '\u001b';
const BEL = '\u0007';
const RLO = '\u202e';

describe('visibleControls', () => {
  it('shows C0, DEL, C1, bidi controls and line separators as escapes, keeping only the ones asked for', () => {
    // Act
    const shown = visibleControls(`a${ESC}[2J${BEL}b\bc\rd\n\te\u007f\u009b${RLO}f\u2066\u2069\u2028`, '\n');
    // Assess
    expect(shown).toBe('a\\x1b[2J\\x07b\\x08c\\rd\n\\te\\x7f\\x9b\\u202ef\\u2066\\u2069\\u2028');
  });

  it('leaves printable text, accents, emoji and other scripts as they are', () => {
    const text = 'checkout-service 99.5% — café ✔ 🔥 日本語 Σ';
    expect(visibleControls(text)).toBe(text);
  });
});

describe('mdText (Markdown inline text)', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script>alert(1)&lt;/script>'],
    ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)>'],
    ['<!-- c --> <?php ?> <![CDATA[x]]>', '&lt;!-- c --> &lt;?php ?> &lt;!\\[CDATA\\[x\\]\\]>'],
    ['<evil@example.com> <a.b+c@d.e>', '&lt;evil@example.com> &lt;a.b+c@d.e>'],
    ['[x](javascript:alert(1))', '\\[x\\](javascript:alert(1))'],
    ['![x](https://evil.example/p.png)', '!\\[x\\](https://evil.example/p.png)'],
    ['<javascript:alert(1)>', '&lt;javascript:alert(1)>'],
    ['a `code` b', 'a \\`code\\` b'],
    ['**bold** and ~~gone~~', '\\*\\*bold\\*\\* and \\~\\~gone\\~\\~'],
    ['_emphasis_ here', '\\_emphasis\\_ here'],
    ['&lt;b&gt; and &#60;', '&amp;lt;b&amp;gt; and &amp;#60;'],
    ['ends with a backslash\\', 'ends with a backslash\\\\'],
    ['\\[not a link\\]', '\\\\\\[not a link\\\\\\]'],
  ])('renders %j as literal text', (input, expected) => {
    expect(mdText(input)).toBe(expected);
  });

  it('cannot start a block: headings, lists, quotes, rules and setext underlines injected through line breaks', () => {
    // Act
    const text = mdText('title\n# Owned\n\n- item\r\n> quote\u2028===');
    // Assess: one line, and nothing after it starts a block
    expect(text).not.toMatch(/\n/);
    expect(text).toBe('title # Owned  - item > quote ===');
  });

  it.each([
    ['# heading', '\\# heading'],
    ['## two', '\\## two'],
    ['> quote', '\\> quote'],
    ['- item', '\\- item'],
    ['+ item', '\\+ item'],
    ['---', '\\---'],
    ['1. first', '1\\. first'],
    ['12) twelfth', '12\\) twelfth'],
    ['=====', '\\====='],
    ['    indented code', 'indented code'],
  ])('escapes the block marker that %j starts with', (input, expected) => {
    expect(mdText(input)).toBe(expected);
  });

  it('leaves ordinary text as it reads: hyphens, dots, in-word underscores, numbers, percentages, parentheses', () => {
    for (const text of ['checkout-service', 'inventory.db.internal', 'latency_p99_ms', '-5% (p99 120 → 18340 ms)', '0.93', '2026-03-14T12:10:00.000Z', 'R&D team', 'a -> b', '1 < 2 > 0', 'CR2077 "Tune HikariCP pool settings" reduced 20 → 10', 'C:\\temp'])
      expect(mdText(text)).toBe(text);
  });

  it('leaves a log template placeholder <*> as text, escaping only its star (an emphasis delimiter there)', () => {
    expect(mdText('HikariPool-<*> waiting=<*>')).toBe('HikariPool-<\\*> waiting=<\\*>');
  });

  it('makes control characters visible', () => {
    expect(mdText(`svc${ESC}[2J${BEL}${RLO}`)).toBe('svc\\x1b\\[2J\\x07\\u202e');
  });
});

describe('mdCell (GFM table cell)', () => {
  it('escapes the pipe that would end the cell, on top of mdText', () => {
    expect(mdCell('a | b <i>')).toBe('a \\| b &lt;i>');
    expect(mdCell('inventory-service')).toBe('inventory-service');
  });
});

describe('mdCode (inline code span)', () => {
  it('uses a fence longer than any backtick run inside, padded when the text starts or ends with one', () => {
    expect(mdCode('change:CR2077')).toBe('`change:CR2077`');
    expect(mdCode('a ` b `` c')).toBe('```a ` b `` c```');
    expect(mdCode('`x`')).toBe('`` `x` ``');
  });

  it('shows line breaks and controls instead of ending the paragraph', () => {
    expect(mdCode('a\n\n# b\u001b')).toBe('`a\\n\\n# b\\x1b`');
  });
});

describe('mdCodeBlock (fenced code block)', () => {
  it('uses a fence of at least three backticks, longer than any run inside, keeping the lines', () => {
    // Act
    const block = mdCodeBlock('line 1\n````\nline 3\u001b', 'text');
    // Assess
    expect(block).toBe('`````text\nline 1\n````\nline 3\\x1b\n`````');
    expect(mdCodeBlock('plain', 'x` y')).toBe('```\nplain\n```');
  });
});

describe('mdLink (a link the report makes)', () => {
  it('links an http(s) URL, percent-encoding what would end the destination', () => {
    expect(mdLink('dashboard', 'https://grafana.example.com/d/x?a=(1) b')).toBe('[dashboard](https://grafana.example.com/d/x?a=%281%29%20b)');
  });

  it.each(['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>', 'vbscript:x', '/relative', 'not a url'])('shows %j as text, not as a link', (url) => {
    const text = mdLink('open <me>', url);
    expect(text).not.toMatch(/\]\(/);
    expect(text.startsWith('open &lt;me> (')).toBe(true);
    expect(httpUrl(url)).toBeUndefined();
  });
});

describe('escapeHtml', () => {
  it('escapes markup for text and quoted attributes, and shows controls but whitespace', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>${RLO}\n`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;\\u202e\n');
  });
});

describe('terminal text', () => {
  it('terminalText shows every control, line breaks included; terminalBlock keeps line breaks and tabs', () => {
    const hostile = `svc${ESC}]0;pwned${BEL}\n\tx${ESC}[2J\r`;
    expect(terminalText(hostile)).toBe('svc\\x1b]0;pwned\\x07\\n\\tx\\x1b[2J\\r');
    expect(terminalBlock(hostile)).toBe('svc\\x1b]0;pwned\\x07\n\tx\\x1b[2J\\r');
    expect(terminalText(hostile)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe('mdAuthored (Markdown a model wrote)', () => {
  it('keeps its structure and http(s) links, and unmakes raw HTML, autolinks and other links, images and definitions', () => {
    // Prepare
    const written = [
      '# RCA',
      '',
      '- see [the dashboard](https://grafana.example.com/d/x) and [above](#summary)',
      '<script>alert(1)</script>',
      'click [here](javascript:alert(2)) or ![pic](data:image/svg+xml,x) or [ref][r] or <javascript:alert(3)>',
      '[r]: javascript:alert(4)',
      '[ok]: https://example.com',
      'entity trick [x](&#106;avascript:alert(5)) and escaped \\<b> stays',
      '| a | b |',
      '|---|---|',
      '| `<i>` | <b>bold</b> |',
      '```html',
      '<b>code is literal</b> [x](javascript:y)',
      '```',
      'bell\u0007 and ESC\u001b[2J',
    ].join('\n');
    // Act
    const safe = mdAuthored(written).split('\n');
    // Assess
    expect(safe).toEqual([
      '# RCA',
      '',
      '- see [the dashboard](https://grafana.example.com/d/x) and [above](#summary)',
      '&lt;script>alert(1)&lt;/script>',
      'click [here\\](javascript:alert(2)) or ![pic\\](data:image/svg+xml,x) or [ref][r] or &lt;javascript:alert(3)>',
      '\\[r]: javascript:alert(4)',
      '[ok]: https://example.com',
      'entity trick [x\\](&#106;avascript:alert(5)) and escaped \\<b> stays',
      '| a | b |',
      '|---|---|',
      '| `<i>` | &lt;b>bold&lt;/b> |',
      '```html',
      '<b>code is literal</b> [x](javascript:y)',
      '```',
      'bell\\x07 and ESC\\x1b[2J',
    ]);
  });

  it('leaves the report the offline reasoner renders as it is', () => {
    const report = '# Incident report — a &lt;b> \\[x\\](javascript:y)\n\n- `<evidence>` — HikariPool-<\\*>\n- [ ] Postmortem review';
    expect(mdAuthored(report)).toBe(report);
  });
});
