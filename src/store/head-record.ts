// A project's history: one immutable record per landing, and the mutable ref to the current one.
/** A project head: one immutable record per landing, chained by parent. */
export interface HeadRecord {
  tree: string;
  /** next unused fileid in this tree */
  nextIno: number;
  parent: string | null;
  session: string | null;
  message: string;
  time: string;
}

/** The mutable pointer to the current head record. generation and nonce make every
 *  ref body unique, so an ETag (an MD5 of the body) never repeats. */
export interface HeadRef {
  generation: number;
  nonce: string;
  head: string;
}
