// Typed client of the HTTP API (global fetch). Non-2xx answers throw ApiError with the server's status
// and body, the body the in-process service's domain error carries.
import { ApiError, type ErrorBody } from './http-errors.js';
import type {
  BlameBody,
  ChangesBody,
  ConversationRequest,
  CurrentBody,
  DeleteBody,
  InteractionsBody,
  InteractionsRequest,
  SessionConfig,
  CreateRequest,
  DecisionsRequest,
  DiffBody,
  FileChangeInput,
  FilesBody,
  HandoffBody,
  HeadBody,
  LandBody,
  LandRequest,
  ListBody,
  ListQuery,
  LogBody,
  PatchRequest,
  RebaseBody,
  SessionApi,
  SessionBody,
  SessionDetailBody,
  ShowBody,
  StartRequest,
  ServeBody,
  ServeRequest,
} from '../session/session-api.js';

export * from '../session/session-api.js';
export { ApiError };

export interface MicClientOptions {
  /** e.g. http://127.0.0.1:2050 */
  baseUrl: string;
  token?: string;
}

const enc = encodeURIComponent;

export class MicClient implements SessionApi {
  private readonly base: string;

  constructor(private readonly o: MicClientOptions) {
    this.base = o.baseUrl.replace(/\/+$/, '');
  }

  /** One request; returns the parsed JSON body (or raw bytes for non-JSON answers). */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    query?: Record<string, string | number | boolean | undefined>,
  ): Promise<T> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('application/json')) {
      const data = Buffer.from(await res.arrayBuffer());
      if (!res.ok)
        throw new ApiError(res.status, {
          error: 'http',
          message: `${res.status} ${res.statusText}: ${data.toString('utf8').slice(0, 200)}`,
        });
      return data as T;
    }
    const json = (await res.json()) as unknown;
    if (!res.ok) {
      const b = (json && typeof json === 'object' ? json : { error: 'http', message: String(json) }) as ErrorBody;
      throw new ApiError(res.status, { ...b, message: b.message ?? `${res.status} ${res.statusText}` });
    }
    return json as T;
  }

  start(req: StartRequest): Promise<SessionBody> {
    return this.request('POST', '/api/sessions/start', req);
  }
  create(req: CreateRequest): Promise<SessionBody> {
    return this.request('POST', '/api/sessions', req);
  }
  list(q: ListQuery = {}): Promise<ListBody> {
    return this.request('GET', '/api/sessions', undefined, { ...q });
  }
  get(id: string): Promise<SessionDetailBody> {
    return this.request('GET', `/api/sessions/${enc(id)}`);
  }
  patch(id: string, req: PatchRequest): Promise<SessionBody> {
    return this.request('PATCH', `/api/sessions/${enc(id)}`, req);
  }
  conversation(id: string, req: ConversationRequest): Promise<SessionBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/conversation`, req);
  }
  decisions(id: string, req: DecisionsRequest): Promise<SessionBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/decisions`, req);
  }
  suspend(id: string): Promise<SessionBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/suspend`);
  }
  resume(id: string): Promise<SessionBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/resume`);
  }
  abandon(id: string): Promise<SessionBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/abandon`);
  }
  fail(id: string, req: { reason?: string } = {}): Promise<SessionBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/fail`, req);
  }
  remove(id: string): Promise<DeleteBody> {
    return this.request('DELETE', `/api/sessions/${enc(id)}`);
  }
  interactions(id: string, req: InteractionsRequest): Promise<InteractionsBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/interactions`, req);
  }
  getCurrent(): Promise<CurrentBody> {
    return this.request('GET', '/api/current-session');
  }
  setCurrent(req: { session_id: string | null }): Promise<CurrentBody> {
    return this.request('PUT', '/api/current-session', req);
  }
  sessionConfig(project: string): Promise<SessionConfig> {
    return this.request('GET', `/api/projects/${projectPath(project)}/session-config`);
  }
  setSessionConfig(project: string, req: Partial<SessionConfig>): Promise<SessionConfig> {
    return this.request('PUT', `/api/projects/${projectPath(project)}/session-config`, req);
  }
  land(id: string, req: LandRequest = {}): Promise<LandBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/land`, req);
  }
  files(id: string, req: { files: FileChangeInput[] }): Promise<FilesBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/files`, req);
  }
  changes(id: string, q: { content?: boolean } = {}): Promise<ChangesBody> {
    return this.request('GET', `/api/sessions/${enc(id)}/changes`, undefined, q);
  }
  diff(id: string): Promise<DiffBody> {
    return this.request('GET', `/api/sessions/${enc(id)}/diff`);
  }
  rebase(id: string): Promise<RebaseBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/rebase`);
  }
  handoff(id: string): Promise<HandoffBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/handoff`);
  }
  serve(id: string, req: ServeRequest = {}): Promise<ServeBody> {
    return this.request('POST', `/api/sessions/${enc(id)}/serve`, req);
  }
  head(project: string): Promise<HeadBody> {
    return this.request('GET', `/api/projects/${projectPath(project)}/head`);
  }
  log(project: string, q: { limit?: number; before?: string } = {}): Promise<LogBody> {
    return this.request('GET', `/api/projects/${projectPath(project)}/log`, undefined, q);
  }
  showHead(project: string, head: string): Promise<ShowBody> {
    return this.request('GET', `/api/projects/${projectPath(project)}/heads/${enc(head)}`);
  }
  blame(project: string, path: string): Promise<BlameBody> {
    return this.request('GET', `/api/projects/${projectPath(project)}/blame`, undefined, { path });
  }
  blob(project: string, hash: string): Promise<Buffer> {
    return this.request('GET', `/api/projects/${projectPath(project)}/blobs/${enc(hash)}`);
  }
}

function projectPath(project: string): string {
  const [org, name] = project.split('/');
  return `${enc(org ?? '')}/${enc(name ?? '')}`;
}
