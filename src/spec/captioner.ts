/** An image-to-text model that describes an item that has only an image (providers/captioner implement it). */
export interface Captioner {
  /** e.g. 'onnx:/path/to/vit-gpt2' — used as a cache key. */
  readonly id: string;
  /** One short caption for the image file (greedy; trimmed, never empty). */
  caption(imagePath: string, options?: { maxNewTokens?: number }): Promise<string>;
  close?(): Promise<void>;
}
