/** What the model store answers: a resolved model folder, what a resolve asks for, a pull's result, a cached model. */

export interface ResolvedModel {
  /** Local folder holding the model's files. */
  dir: string;
  /** The hub repo id, or the spec as given for a local folder. */
  id: string;
  /** The revision asked for (default 'main'); undefined for a local folder. */
  revision: string | undefined;
  local: boolean;
  /** The commit the hub reported for the revision, when known. */
  commit?: string;
}

export interface ResolveRequest {
  /** Files (relative paths) the model must have. */
  files?: string[];
  /** Files fetched when the repo has them (a 404 is remembered and skipped). */
  optionalFiles?: string[];
}

export interface PullResult extends ResolvedModel {
  /** Bytes received over the network by this call (0 when everything was cached). */
  downloadedBytes: number;
  /** The repo files that matched (all of them without `include`), now in `dir`. */
  files: string[];
  /** Size of those files on disk. */
  totalBytes: number;
}

export interface CachedModel {
  id: string;
  revision: string;
  dir: string;
  /** Complete files (downloads in progress are not counted). */
  files: number;
  bytes: number;
  commit?: string;
  /** Bytes in `.incomplete` files waiting to be resumed. */
  incompleteBytes: number;
}
