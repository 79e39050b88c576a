// Conversation turns are markdown (marked). Raw HTML in a turn is shown as text, links and images keep
// only http(s), mailto and same-site URLs, and code blocks are coloured by highlight.js (colourBlocks, once it is loaded): the output holds
// no markup that came from the user.
import { Marked, type Tokens } from 'marked';
import { escapeHtml, loadCode } from './dom.js';

function safeUrl(href: string): string | null {
  const v = href.trim();
  if (/^(https?:|mailto:)/i.test(v)) return v;
  if (/^[/#?]/.test(v) && !v.startsWith('//')) return v;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(v) && !v.startsWith('//')) return v; // relative
  return null;
}

const md = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(text);
    },
    link({ href, title, tokens }: Tokens.Link) {
      const inner = this.parser.parseInline(tokens);
      const url = safeUrl(href);
      if (!url) return inner;
      return `<a href="${escapeHtml(url)}" rel="noopener noreferrer nofollow"${title ? ` title="${escapeHtml(title)}"` : ''}>${inner}</a>`;
    },
    image({ href, text }: Tokens.Image) {
      // no remote images in the page: show the alt text and the address as a link
      const url = safeUrl(href);
      return url ? `<a href="${escapeHtml(url)}" rel="noopener noreferrer nofollow">${escapeHtml(text || url)}</a>` : escapeHtml(text);
    },
    code({ text, lang }: Tokens.Code) {
      const l = (lang ?? '').split(/\s/)[0];
      return `<pre class="code"><code class="hljs"${/^[\w+-]+$/.test(l) ? ` data-lang="${l}"` : ''}>${escapeHtml(text)}</code></pre>`;
    },
  },
});

export function renderMarkdown(src: string): string {
  return md.parse(src, { async: false }) as string;
}

/** Colour the code blocks of rendered markdown (highlight.js escapes; the text is the block's own text). */
export async function colourBlocks(root: HTMLElement): Promise<void> {
  const blocks = [...root.querySelectorAll<HTMLElement>('pre.code code[data-lang]')];
  if (!blocks.length) return;
  const { highlightCode } = await loadCode();
  for (const b of blocks) b.innerHTML = highlightCode(b.textContent ?? '', b.dataset.lang ?? null);
}
