// Syntax colour with highlight.js: the core and the languages people keep in projects (a full build
// would triple the page weight). Languages come from the file name; unknown ones stay plain (escaped).
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import elixir from 'highlight.js/lib/languages/elixir';
import go from 'highlight.js/lib/languages/go';
import ini from 'highlight.js/lib/languages/ini';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import lua from 'highlight.js/lib/languages/lua';
import makefile from 'highlight.js/lib/languages/makefile';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { escapeHtml } from './dom.js';

const LANGS = {
  bash,
  c,
  cpp,
  css,
  diff,
  elixir,
  go,
  ini,
  java,
  javascript,
  json,
  lua,
  makefile,
  markdown,
  python,
  ruby,
  rust,
  sql,
  typescript,
  xml,
  yaml,
};
for (const [name, def] of Object.entries(LANGS)) hljs.registerLanguage(name, def);

const BY_EXT: Record<string, string> = {
  sh: 'bash',
  bash: 'bash',
  zsh: 'bash',
  c: 'c',
  h: 'c',
  cc: 'cpp',
  cpp: 'cpp',
  cxx: 'cpp',
  hpp: 'cpp',
  hh: 'cpp',
  css: 'css',
  diff: 'diff',
  patch: 'diff',
  ex: 'elixir',
  exs: 'elixir',
  go: 'go',
  ini: 'ini',
  toml: 'ini',
  cfg: 'ini',
  java: 'java',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  json: 'json',
  lua: 'lua',
  mk: 'makefile',
  md: 'markdown',
  markdown: 'markdown',
  py: 'python',
  rb: 'ruby',
  rs: 'rust',
  sql: 'sql',
  ts: 'typescript',
  tsx: 'typescript',
  mts: 'typescript',
  html: 'xml',
  htm: 'xml',
  xml: 'xml',
  svg: 'xml',
  yml: 'yaml',
  yaml: 'yaml',
};

export function languageOf(path: string): string | null {
  const base = path.split('/').pop() ?? '';
  if (/^(GNU)?makefile$/i.test(base)) return 'makefile';
  if (/^dockerfile$/i.test(base)) return 'bash';
  const ext = base.includes('.') ? base.split('.').pop()!.toLowerCase() : '';
  return BY_EXT[ext] ?? null;
}

/** HTML (escaped source wrapped in highlight.js spans). Very large inputs stay plain. */
export function highlightCode(text: string, lang: string | null): string {
  const l = lang && hljs.getLanguage(lang) ? lang : null;
  if (!l || text.length > 512 * 1024) return escapeHtml(text);
  try {
    return hljs.highlight(text, { language: l, ignoreIllegals: true }).value;
  } catch {
    return escapeHtml(text);
  }
}

/**
 * A file highlighted as a whole, split into one HTML string per line (spans open across a line end are
 * closed and reopened), so that diff rows and blame rows keep the colour of multi-line constructs.
 */
export function highlightLines(text: string, lang: string | null): string[] {
  const html = highlightCode(text, lang);
  const out: string[] = [];
  const open: string[] = [];
  let line = '';
  const re = /(<span[^>]*>)|(<\/span>)|(\n)|([^<\n]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(html))) {
    if (m[1]) {
      open.push(m[1]);
      line += m[1];
    } else if (m[2]) {
      open.pop();
      line += m[2];
    } else if (m[3]) {
      out.push(line + '</span>'.repeat(open.length));
      line = open.join('');
    } else line += m[4];
  }
  out.push(line + '</span>'.repeat(open.length));
  if (text.endsWith('\n')) out.pop();
  return out;
}
