// The type of a value encoded by the wire codec (src/protocol/wire.ts), apart from the codec so
// that browser-safe protocol files (the request types of lsp.ts) can name it without Node.

/**
 * A value of type T as toWire encodes it for JSON-RPC (typed arrays as bytes on a binary channel,
 * tagged base64 on a text one). The type
 * parameter is what fromWire gives back, so a request typed `Wire<ProbeResult>` decodes to a
 * ProbeResult without a cast at the call site. (The brand exists only for the type checker.)
 */
export type Wire<T> = { readonly __wireOf?: T };
