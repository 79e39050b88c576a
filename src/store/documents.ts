// JSON documents under the project's prefix (session records, tree documents, holder refs' bodies):
// mutable and unverified, unlike the content-addressed objects.
import { CorruptObjectError } from './errors.js';
import type { ObjectIo } from './object-io.js';

export class DocumentStore {
  constructor(private readonly io: ObjectIo) {}

  async putJson(relKey: string, obj: unknown): Promise<void> {
    await this.io.backend.put(this.io.key(relKey), Buffer.from(JSON.stringify(obj), 'utf8'));
  }

  async getJson<T>(relKey: string): Promise<T | null> {
    const key = this.io.key(relKey);
    const bytes = await this.io.backend.get(key);
    if (!bytes) return null;
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      throw new CorruptObjectError(key, 'not JSON');
    }
  }
}
