// Artifacts over HTTP (seed 004): the content of a POST streams to a temporary file in the data
// directory and from there into the store in chunks, so a large artifact never sits in memory; GET of
// the content streams it back, with single byte ranges (RFC 9110 §14).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { checkAccess } from '../identity/access.js';
import type { GrantStore } from '../identity/grant-store.js';
import {
  ARTIFACT_TYPES,
  artifactId,
  isArtifactId,
  type ArtifactRecord,
  type ArtifactStore,
  type ArtifactType,
} from '../artifacts/artifact-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { EventBus } from '../events/event-bus.js';
import type { Catalog } from '../session/catalog.js';
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import { projectParam } from '../session/input.js';
import { ApiError } from './http-errors.js';
import type { TableRoute } from './route-table.js';

export interface ArtifactDeps {
  artifacts: ArtifactStore;
  catalog: Catalog;
  grants: GrantStore;
  audit: AuditLog;
  bus: EventBus;
  /** where uploads are spooled (inside the data directory) */
  spoolDir: string;
  /** largest artifact accepted (bytes) */
  maxBytes: number;
}

async function sessionTarget(catalog: Catalog, id: string) {
  const project = await catalog.projectOf(id);
  if (!project) throw new NotFoundError('session', `session ${JSON.stringify(id)} not found`);
  return { project, session: id };
}

function versionOf(q: URLSearchParams): number | undefined {
  const v = q.get('version');
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError('version', 'must be a positive integer');
  return n;
}

/** "bytes=a-b", "bytes=a-", "bytes=-n" against size; null: no (usable) Range header. */
export function parseRange(h: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or garbage: the whole content (§14.2)
  let start: number, end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  if (start >= size || start >= end) return 'unsatisfiable';
  return { start, end };
}

export function artifactRoutes(d: ArtifactDeps): TableRoute[] {
  const idOf = (s: string) => (isArtifactId(s) ? s : artifactId(s));
  const publish = (type: 'artifact.stored' | 'artifact.deleted', a: ArtifactRecord, actor: string) =>
    d.bus.publish(type, {
      project: a.project,
      session: a.session_id,
      actor,
      data: { artifact_id: a.id, name: a.metadata.name, version: a.version, size: a.size, type: a.type },
    });
  return [
    {
      method: 'POST',
      path: '/api/sessions/:id/artifacts',
      rawBody: true,
      handler: async ({ principal: p, params, query, req }) => {
        const t = await sessionTarget(d.catalog, params[0]!);
        await checkAccess(p, 'write', t, d.grants);
        const name = query.get('name');
        if (!name || name.length > 255 || /[\0/\\]/.test(name))
          throw new InvalidInputError('name', 'is required: 1-255 characters, no "/", "\\" or NUL');
        const type = query.get('type') ?? 'data';
        if (!(ARTIFACT_TYPES as readonly string[]).includes(type))
          throw new InvalidInputError('type', `must be one of ${ARTIFACT_TYPES.join(', ')}`);
        const tags = (query.get('tags') ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (tags.length > 64 || tags.some((x) => x.length > 64))
          throw new InvalidInputError('tags', 'at most 64 tags of at most 64 characters');
        let custom: unknown;
        const c = query.get('custom');
        if (c !== null) {
          try {
            custom = JSON.parse(c);
          } catch {
            throw new InvalidInputError('custom', 'must be JSON');
          }
        }
        const declared = Number(req.headers['content-length'] ?? NaN);
        if (declared > d.maxBytes) throw new ApiError(413, { error: 'too_large', message: `artifacts are limited to ${d.maxBytes} bytes` });
        fs.mkdirSync(d.spoolDir, { recursive: true, mode: 0o700 });
        const spool = path.join(d.spoolDir, `upload-${randomBytes(8).toString('hex')}`);
        try {
          let got = 0;
          const limit = new Transform({
            transform(chunk: Buffer, _enc, cb) {
              got += chunk.length;
              if (got > d.maxBytes) cb(new ApiError(413, { error: 'too_large', message: `artifacts are limited to ${d.maxBytes} bytes` }));
              else cb(null, chunk);
            },
          });
          await pipeline(req, limit, fs.createWriteStream(spool, { mode: 0o600 }));
          const rec = await d.artifacts.put(params[0]!, {
            type: type as ArtifactType,
            file: spool,
            actor: p.user,
            contentType: (req.headers['content-type'] ?? 'application/octet-stream').slice(0, 200),
            metadata: {
              name,
              ...(query.get('description') ? { description: query.get('description')! } : {}),
              tags,
              ...(custom !== undefined ? { custom } : {}),
            },
          });
          await d.audit.append({
            actor: p.user,
            action: 'artifact.store',
            target: `artifact:${rec.id}`,
            result: 'ok',
            detail: { session: rec.session_id, project: rec.project, name, version: rec.version, size: rec.size },
          });
          publish('artifact.stored', rec, p.user);
          return { status: 201, json: { artifact: rec } };
        } finally {
          fs.rmSync(spool, { force: true });
        }
      },
    },
    {
      method: 'GET',
      path: '/api/sessions/:id/artifacts',
      handler: async ({ principal: p, params }) => {
        await checkAccess(p, 'read', await sessionTarget(d.catalog, params[0]!), d.grants);
        return { json: { artifacts: await d.artifacts.list(params[0]!) } };
      },
    },
    {
      method: 'GET',
      path: '/api/sessions/:id/artifacts/:artifact',
      handler: async ({ principal: p, params, query }) => {
        const id = idOf(params[1]!);
        await checkAccess(p, 'read', { ...(await sessionTarget(d.catalog, params[0]!)), artifact: id }, d.grants);
        return { json: { artifact: await d.artifacts.get(params[0]!, id, versionOf(query)) } };
      },
    },
    {
      method: 'GET',
      path: '/api/sessions/:id/artifacts/:artifact/versions',
      handler: async ({ principal: p, params }) => {
        const id = idOf(params[1]!);
        await checkAccess(p, 'read', { ...(await sessionTarget(d.catalog, params[0]!)), artifact: id }, d.grants);
        const versions = await d.artifacts.versions(params[0]!, id);
        if (!versions.length) throw new NotFoundError('artifact', `artifact ${params[1]} not found in session ${params[0]}`);
        return { json: { versions } };
      },
    },
    {
      method: 'GET',
      path: '/api/sessions/:id/artifacts/:artifact/content',
      handler: async ({ principal: p, params, query, req, res }) => {
        const id = idOf(params[1]!);
        await checkAccess(p, 'read', { ...(await sessionTarget(d.catalog, params[0]!)), artifact: id }, d.grants);
        const rec = await d.artifacts.get(params[0]!, id, versionOf(query));
        const range = parseRange(req.headers.range, rec.size);
        if (range === 'unsatisfiable') {
          res.writeHead(416, { 'content-range': `bytes */${rec.size}` }).end();
          return { streamed: true };
        }
        const { start, end } = range ?? { start: 0, end: rec.size };
        res.writeHead(range ? 206 : 200, {
          'content-type': rec.content_type,
          'content-length': String(end - start),
          'accept-ranges': 'bytes',
          etag: `"${rec.content_hash}"`,
          'x-content-type-options': 'nosniff',
          'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(rec.metadata.name)}`,
          ...(range ? { 'content-range': `bytes ${start}-${end - 1}/${rec.size}` } : {}),
        });
        // two pieces in flight at most: a slow reader holds 2 MiB here, not the stream's default 16 pieces
        await pipeline(Readable.from(d.artifacts.content(rec, start, end), { highWaterMark: 2 }), res);
        return { streamed: true };
      },
    },
    {
      method: 'DELETE',
      path: '/api/sessions/:id/artifacts/:artifact',
      handler: async ({ principal: p, params }) => {
        const id = idOf(params[1]!);
        await checkAccess(p, 'write', { ...(await sessionTarget(d.catalog, params[0]!)), artifact: id }, d.grants);
        const rec = await d.artifacts.delete(params[0]!, id);
        if (!rec) throw new NotFoundError('artifact', `artifact ${params[1]} not found in session ${params[0]}`);
        await d.audit.append({
          actor: p.user,
          action: 'artifact.delete',
          target: `artifact:${rec.id}`,
          result: 'ok',
          detail: { session: rec.session_id, project: rec.project },
        });
        publish('artifact.deleted', rec, p.user);
        return { json: { deleted: rec.id } };
      },
    },
    {
      method: 'GET',
      path: '/api/projects/:org/:name/artifacts',
      handler: async ({ principal: p, params, query }) => {
        const project = projectParam(params[0]!, params[1]!);
        await checkAccess(p, 'read', { project }, d.grants);
        const limit = query.get('limit') ? Number(query.get('limit')) : 100;
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          throw new InvalidInputError('limit', 'must be an integer from 1 to 1000');
        const q = (k: string) => query.get(k) ?? undefined;
        return {
          json: {
            artifacts: await d.artifacts.query(project, { type: q('type'), tag: q('tag'), text: q('text'), session: q('session'), limit }),
          },
        };
      },
    },
  ];
}
