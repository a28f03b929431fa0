// A tensor as webviews receive it: the float32 bytes in an ArrayBuffer (postMessage clones it).

/** A tensor as it crosses into a webview: raw float32 bytes plus shape. */
export interface WebviewTensor {
  dims: number[];
  /** Little-endian float32 bytes; view with `new Float32Array(buffer)`. */
  buffer: ArrayBuffer;
}
