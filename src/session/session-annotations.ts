// What a session says about itself, as the session service (service.ts) takes it: conversation messages,
// decisions, metadata/tags/goal edits (patch) and seed 002's command/result interactions. Each request is
// validated before the session's queue is entered, then appended to the record of a session that may still
// change, with a timeline event, and saved. SessionService extends this class; SessionServiceBase below it
// provides the queue, the record and the state checks.
import type { ConversationRequest, DecisionsRequest, InteractionsBody, PatchRequest, SessionBody } from './session-api.js';
import { SessionServiceBase } from './session-service-base.js';
import { InvalidInputError, InvalidStateError } from './errors.js';
import * as input from './input.js';
import { sessionView } from './record.js';
import { PATCH_FIELDS } from './requests.js';
import { checkAgainstConfig, readSessionConfig } from './session-config.js';
import { MAX_INTERACTIONS, parseInteractions } from './interactions.js';
import { addEvent } from './timeline.js';

export class SessionAnnotations extends SessionServiceBase {
  async conversation(id: string, raw: ConversationRequest | unknown): Promise<SessionBody> {
    const b = input.body(raw);
    const now = new Date().toISOString();
    const msgs = b.messages !== undefined ? input.messages(b.messages, 'messages', now) : [input.message(b, '', now)];
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      for (const m of msgs) {
        r.conversation.push(m);
        addEvent(r, { type: 'conversation', role: m.role, time: m.time });
      }
      await this.save(r);
      return { session: sessionView(r) };
    });
  }

  async decisions(id: string, raw: DecisionsRequest | unknown): Promise<SessionBody> {
    const b = input.body(raw);
    const now = new Date().toISOString();
    const list = b.decisions !== undefined ? input.decisions(b.decisions, 'decisions', now) : [input.decision(b, '', now)];
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      for (const d of list) {
        r.decisions.push(d);
        addEvent(r, { type: 'decision', decision: d.decision, time: d.time });
      }
      await this.save(r);
      return { session: sessionView(r) };
    });
  }

  async patch(id: string, raw: PatchRequest | unknown): Promise<SessionBody> {
    const b = input.body(raw);
    input.known(b, PATCH_FIELDS);
    const meta = input.metadata(b.metadata, 'metadata', true);
    const tags = b.tags === undefined ? undefined : input.tags(b.tags, 'tags');
    const add = input.tags(b.add_tags, 'add_tags');
    const remove = input.tags(b.remove_tags, 'remove_tags');
    const goal = input.str(b, 'goal', { max: 4096 });
    if (goal !== undefined && goal.trim() === '') throw new InvalidInputError('goal', 'must not be empty');
    const description = input.str(b, 'description');
    const extra = input.agentInfo(b);
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      checkAgainstConfig(await readSessionConfig(this.o.catalog, r.project), extra);
      for (const [k, v] of Object.entries(meta)) {
        if (v === null) delete r.metadata[k];
        else r.metadata[k] = v;
      }
      if (JSON.stringify(r.metadata).length > input.MAX_METADATA_BYTES) input.metadata(r.metadata, 'metadata');
      if (tags) r.tags = tags;
      for (const t of add) if (!r.tags.includes(t)) r.tags.push(t);
      r.tags = r.tags.filter((t) => !remove.includes(t));
      if (goal !== undefined) r.goal = goal;
      if (description !== undefined) r.description = description;
      Object.assign(r, extra);
      addEvent(r, { type: 'metadata' });
      await this.save(r);
      return { session: sessionView(r) };
    });
  }

  /** seed 002's interactions: command/result pairs appended to the session */
  async interactions(id: string, raw: unknown, actor?: string): Promise<InteractionsBody> {
    const list = parseInteractions(raw, actor ?? null);
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      const have = r.interactions ?? [];
      if (have.length + list.length > MAX_INTERACTIONS)
        throw new InvalidStateError(`session ${id} has ${have.length} interactions; at most ${MAX_INTERACTIONS} are kept`, {
          session: sessionView(r),
        });
      r.interactions = [...have, ...list];
      await this.save(r);
      return { session: sessionView(r), interactions: list };
    });
  }
}
