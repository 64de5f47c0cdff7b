/** What a user did, as pmg reads it: history items, conversations, targets, dataset samples. */
export type Scene = 'movie' | 'fashion' | 'sticker';
export const scenes: readonly Scene[] = ['movie', 'fashion', 'sticker'];

export interface Item {
  id?: string;
  title?: string;
  genres?: string[];
  category?: string;
  description?: string;
  keywords?: string[];
  /** Path or URL of the item's image. */
  image?: string;
  caption?: string;
}

export interface ConversationTurn {
  speaker: string;
  text: string;
}

export interface History {
  items: Item[];
  conversation?: ConversationTurn[];
}

/** The item to generate for (for stickers: the current conversation). */
export interface Target {
  item?: Item;
  conversation?: ConversationTurn[];
}

/** One evaluation sample built by a dataset protocol. */
export interface Sample {
  /** Stable id, e.g. 'movielens:user-12'. */
  id: string;
  user: string;
  scene: Scene;
  history: History;
  target: Target;
  /** Reference images (paths) where the dataset has them. */
  historyImages: string[];
  targetImage?: string;
  /** Which part of an 8:1:1 split the sample belongs to, for protocols that split (e.g. sliding windows). */
  split?: DataSplit;
}

export type DataSplit = 'train' | 'val' | 'test';
