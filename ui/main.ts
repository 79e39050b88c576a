// The app: one page, views chosen by the URL. Links inside the app change the view without a reload;
// each view cleans up after itself (the session page closes its event stream).
import { h, clear } from './dom.js';
import { HttpError } from './api.js';
import { sessionsPage } from './pages/sessions.js';
import { sessionPage } from './pages/session.js';
import { blamePage, comparePage, headPage, logPage, treePage } from './pages/project.js';
import './style.css';

const app = document.getElementById('app')!;
const main = h('main', { id: 'main', tabindex: '-1' });
let cleanup: (() => void) | null = null;
let seq = 0;

const dec = (s: string) => decodeURIComponent(s);

async function route(): Promise<void> {
  cleanup?.();
  cleanup = null;
  const mine = ++seq;
  const parts = location.pathname.split('/').filter(Boolean);
  main.setAttribute('aria-busy', 'true');
  try {
    if (parts.length === 0) await sessionsPage(main, navigate);
    else if (parts[0] === 'sessions' && parts.length === 2) {
      const stop = await sessionPage(main, dec(parts[1]));
      if (mine === seq) cleanup = stop;
      else stop();
    } else if (parts[0] === 'projects' && parts.length >= 3) {
      const project = `${dec(parts[1])}/${dec(parts[2])}`;
      const [view, head, ...rest] = parts.slice(3);
      const path = rest.map(dec).join('/');
      if (!view) await logPage(main, project);
      else if (view === 'heads' && head) await headPage(main, project, dec(head));
      else if (view === 'tree' && head) await treePage(main, project, dec(head), path);
      else if (view === 'blame' && head) await blamePage(main, project, dec(head), path);
      else if (view === 'compare') await comparePage(main, project);
      else notFound();
    } else notFound();
    if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  } catch (e) {
    if (mine !== seq) return;
    const err = e as HttpError;
    document.title = 'Error · mic-fs';
    clear(
      main,
      h('h1', {}, err.status === 404 ? 'Not found' : 'Something went wrong'),
      h('p', { class: 'error', role: 'alert' }, err.message),
    );
  } finally {
    if (mine === seq) main.removeAttribute('aria-busy');
  }
}

function notFound(): void {
  document.title = 'Not found · mic-fs';
  clear(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '/' }, 'All sessions')));
}

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  void route().then(() => {
    if (!replace) main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  });
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/ui/') || url.pathname.startsWith('/api/')) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // in-page anchor
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});
document.addEventListener('submit', (e) => {
  const f = e.target as HTMLFormElement;
  if (e.defaultPrevented || f.method !== 'get' || !f.action) return;
  const url = new URL(f.action);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  const q = new URLSearchParams();
  for (const [k, v] of new FormData(f)) if (typeof v === 'string' && v) q.set(k, v);
  navigate(`${url.pathname}?${q}`);
});
window.addEventListener('popstate', () => void route());

// "/" focuses the first search or filter field, as in GitHub and Gitea
document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target as HTMLElement;
  if (t.closest('input, textarea, select, [contenteditable]')) return;
  const field = main.querySelector<HTMLElement>('input[type=search], form input');
  if (field) {
    e.preventDefault();
    field.focus();
  }
});

clear(
  app,
  h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
  h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '/' }, 'mic-fs'),
    h(
      'nav',
      {},
      h('a', { href: '/' }, 'Sessions'),
      document.body.dataset.user ? h('span', { class: 'who muted' }, `Signed in as ${document.body.dataset.user}`) : null,
      // signing out only means something when a token is configured
      document.body.dataset.auth
        ? h('form', { method: 'post', action: '/logout', class: 'logout' }, h('button', { type: 'submit', class: 'link' }, 'Sign out'))
        : null,
    ),
  ),
  main,
);
void route();
