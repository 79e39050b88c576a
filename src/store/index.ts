// Public API of the storage layer.
export type { ListOptions, ObjectBackend } from './object-backend.js';
export type { TreeEntry, EntryKind } from './tree-entry.js';
export type { HeadRecord, HeadRef } from './head-record.js';
export { LocalBackend, localRefVersion, type LocalBackendOptions } from './local-backend.js';
export { ProjectLister } from './project-lister.js';
export { ObjectStore, type ObjectStoreOptions, type HeadState } from './object-store.js';
export type { DirChange } from './tree.js';
export { EMPTY_TREE, LEAF_MAX, FANOUT, MAX_NAME_BYTES, validateEntryName, isValidEntryName, compareNames } from './tree-codec.js';
export { sha256Hex, encodeStored, decodeStored } from './codec.js';
export {
  projectPrefix,
  isValidProject,
  validateProject,
  isHash,
  objectRelKey,
  sessionIndexKey,
  validateRelKey,
  HEAD_REF_REL_KEY,
} from './keys.js';
export { CorruptObjectError, MissingObjectError, InvalidNameError, InvalidKeyError, type InvalidNameReason } from './errors.js';
export {
  S3Backend,
  S3BackendError,
  ConditionalWritesUnsupportedError,
  checkBucketAccess,
  checkConditionalWrites,
  bareEtag,
  type S3BackendOptions,
} from './s3-backend.js';
export { DiskCache, isContentAddressedKey, verifyContentAddressed, type DiskCacheOptions, type DiskCacheStats } from './disk-cache.js';
export { TieredBackend, type TieredStats } from './tiered-backend.js';
export { openBackend, checkBackend, parseBytes, DEFAULT_CACHE_BYTES, type BackendOptions } from './open-backend.js';
