// Data the API and UI tests land: seed 000's example request (verbatim) and the UI's XSS fixture.
import type { CreateRequest } from '../../src/session/session-api.js';
export const SEED_000_REQUEST: CreateRequest = {
  session_id: 'unique-id',
  goal: 'Add authentication system',
  organization: 'myorg',
  project: 'myapp',
  conversation: [
    { role: 'user', content: 'We need JWT-based auth' },
    { role: 'assistant', content: "I'll implement with bcrypt for passwords" },
  ],
  decisions: [{ decision: 'Use JWT tokens for stateless auth', reasoning: 'Keeps the system scalable and cloud-friendly' }],
  files: [
    { path: 'src/auth/jwt.ex', change_type: 'added', content: 'defmodule Auth.JWT do...' },
    { path: 'src/main.ex', change_type: 'modified', content: '# Updated with auth routes...' },
    { path: 'src/old_auth.ex', change_type: 'deleted' },
  ],
};

export const SEED_000_PROJECT = { 'src/main.ex': 'defmodule Main do\nend\n', 'src/old_auth.ex': 'old\n', 'README.md': 'app\n' };

export const XSS_NAME = '<img src=x onerror=alert(1)>.md';
export const XSS_GOAL = '<b>bold</b><img src=x onerror="window.__xss=1"><script>window.__xss=2</script> & "quotes"';
export const XSS_CONTENT = '<script>window.__xss=3</script>\n<img src=x onerror="window.__xss=4">\n# title\n';

export const XSS_REQUEST: CreateRequest & { files: { path: string; change_type: 'added' | 'modified'; content: string }[] } = {
  session_id: 'xss-1',
  goal: XSS_GOAL,
  project: 'myorg/myapp',
  tags: ['security'],
  agent: 'claude_code',
  conversation: [
    {
      role: 'user',
      content: 'raw html: <img src=x onerror="window.__xss=5"> <script>window.__xss=6</script>\n\n[click](javascript:window.__xss=7)',
    },
    { role: '<b>role</b>', content: '![pic](javascript:alert(8)) **bold** `<code>`' },
  ],
  decisions: [{ decision: '<img src=x onerror="window.__xss=9">', reasoning: '<script>alert(10)</script>' }],
  files: [
    { path: XSS_NAME, change_type: 'added', content: XSS_CONTENT },
    { path: 'src/main.ex', change_type: 'modified', content: '<script>window.__xss=11</script>\n' },
  ],
  message: '<img src=x onerror="window.__xss=12">',
};
