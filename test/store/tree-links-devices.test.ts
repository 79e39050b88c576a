// Tree entries of hard-linked files ("links") and device nodes ("rdev"): fields added after trees were
// already stored, so a tree without them decodes to the same entries and keeps its hash.
import { describe, expect, it } from 'vitest';
import { decodeNode, encodeEntry, encodeNode, normalizeEntry } from '../../src/store/tree-codec.js';
import { sha256Hex } from '../../src/store/codec.js';
import type { TreeEntry } from '../../src/store/tree-entry.js';

const file: TreeEntry = { name: 'a', kind: 'file', mode: 0o644, ino: 5, size: 0, mtime: [1, 2], hash: '0'.repeat(64) };

describe('tree codec: links and rdev', () => {
  it('a node written before the fields existed decodes unchanged and re-encodes to the same bytes (same hash)', () => {
    const old = Buffer.from(
      `{"v":1,"leaf":[{"name":"a","kind":"file","mode":420,"ino":5,"size":0,"mtime":[1,2],"hash":"${'0'.repeat(64)}"}]}`,
    );
    const node = decodeNode(old);
    expect(node.type === 'leaf' && node.entries[0]).toEqual(file);
    expect(node.type === 'leaf' && node.entries[0]!.links).toBeUndefined();
    expect(sha256Hex(encodeNode(node))).toBe(sha256Hex(old));
  });

  it('links and rdev round-trip in canonical order', () => {
    const linked = normalizeEntry({ ...file, links: 3 });
    const dev = normalizeEntry({ name: 'tty', kind: 'chardev', mode: 0o620, ino: 6, size: 0, mtime: [0, 0], rdev: [4, 64], links: 2 });
    const blk = normalizeEntry({ name: 'sda', kind: 'blockdev', mode: 0o660, ino: 7, size: 0, mtime: [0, 0], rdev: [8, 0] });
    expect(encodeEntry(dev)).toBe('{"name":"tty","kind":"chardev","mode":400,"ino":6,"size":0,"mtime":[0,0],"links":2,"rdev":[4,64]}');
    const back = decodeNode(encodeNode({ type: 'leaf', entries: [linked, dev, blk] }));
    expect(back.type === 'leaf' && back.entries).toEqual([linked, dev, blk]);
  });

  it('refuses bad values: links below 2 or on a directory, rdev missing on a device or present elsewhere', () => {
    expect(() => normalizeEntry({ ...file, links: 1 })).toThrow(/links/);
    expect(() => normalizeEntry({ ...file, kind: 'dir', links: 2 })).toThrow(/links/);
    expect(() => normalizeEntry({ ...file, kind: 'chardev' })).toThrow(/rdev/);
    expect(() => normalizeEntry({ ...file, rdev: [1, 2] })).toThrow(/rdev/);
    expect(() => normalizeEntry({ ...file, kind: 'blockdev', rdev: [-1, 2] })).toThrow(/rdev/);
  });
});
