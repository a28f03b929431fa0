// What a model folder may make Introspect read, and how much of it.
//
// A model is often someone else's download, and a crafted one must not turn into a way of reading
// other files. The rules (ARCHITECTURE.md, "Model files stay inside their folder"):
//   - every model file is a regular file: a FIFO, device or socket is refused before it is opened for
//     reading, and files are opened non-blocking, so a named pipe can never hang a process;
//   - every read has a size bound (the .onnx protobuf, each JSON file, each external-data file);
//   - external data (`location` in a TensorProto) is a relative path to a regular file inside the
//     folder of the .onnx file, after symlinks are resolved. The one exception is the Hugging Face
//     hub cache, where snapshots/<rev>/... are symlinks into the same repository's blobs/ folder;
//   - an external-data file covers the bytes its tensors declare (offset + length, and length
//     equal to what the shape and type need).
// Each refusal is an IntrospectError with a sentence naming the file and what to do.
import * as fs from "fs";
import * as path from "path";
import { constants as bufferConstants } from "buffer";
import { IntrospectError } from "../types";
import { scanModel, type InitializerRef, type ScannedModel } from "../onnx/modelFile";
import { FileBytes } from "../onnx/wire";

/** The largest .onnx file read: protobuf messages cannot exceed 2 GiB (larger models keep their weights in external data). */
export const MAX_ONNX_BYTES = 2 ** 31;
/** tokenizer.json (the largest Hugging Face tokenizers are tens of MiB). */
export const MAX_TOKENIZER_BYTES = 512 * 2 ** 20;
/** config.json, tokenizer_config.json, generation_config.json. */
export const MAX_JSON_BYTES = 64 * 2 ** 20;

const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

function mib(n: number): string {
  const unit = (v: number, u: string) => `${Number.isInteger(v) ? v : v.toFixed(1)} ${u}`;
  if (n < 2 ** 20) return `${n} bytes`;
  return n < 2 ** 30 ? unit(n / 2 ** 20, "MiB") : unit(n / 2 ** 30, "GiB");
}

/** "a named pipe (FIFO)", "a character device", ... for a stat that is not a regular file. */
export function describeNonFile(st: fs.Stats): string {
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  if (st.isDirectory()) return "a folder";
  return "not a regular file";
}

/**
 * Opens `file` for reading if it is a regular file of at most `maxBytes`; never blocks (a FIFO is
 * refused from its stat, and the open is non-blocking in case the file changes in between).
 */
export function openRegularFile(file: string, what: string, maxBytes: number): { fd: number; size: number } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new IntrospectError("model-not-found", `Cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new IntrospectError("corrupt-model", `${what} ${file} is ${describeNonFile(st)}, not a regular file.`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NONBLOCK);
  } catch (e) {
    throw new IntrospectError("model-not-found", `Cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    const now = fs.fstatSync(fd);
    if (!now.isFile()) throw new IntrospectError("corrupt-model", `${what} ${file} is ${describeNonFile(now)}, not a regular file.`);
    if (now.size > maxBytes) {
      throw new IntrospectError(
        "corrupt-model",
        `${what} ${file} is ${mib(now.size)}, more than the ${mib(maxBytes)} Introspect reads for such a file.`,
      );
    }
    return { fd, size: now.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Reads bytes [0, length) of an open file; a file that shrank meanwhile is reported as truncated. */
function readExactly(fd: number, length: number, file: string, what: string): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), done);
    if (n === 0) throw new IntrospectError("corrupt-model", `${what} ${file} ended after ${done} of ${length} bytes while being read.`);
    done += n;
  }
  return out;
}

/** A whole model file (regular, at most `maxBytes`). */
export function readModelFile(file: string, what: string, maxBytes: number): Buffer {
  const { fd, size } = openRegularFile(file, what, maxBytes);
  try {
    return readExactly(fd, size, file, what);
  } finally {
    fs.closeSync(fd);
  }
}

/** A model's JSON or other text file as UTF-8 (regular, at most `maxBytes`, default MAX_JSON_BYTES). */
export function readModelText(file: string, what: string, maxBytes = MAX_JSON_BYTES): string {
  return readModelFile(file, what, maxBytes).toString("utf8");
}

/** The .onnx file for random access (regular, at most MAX_ONNX_BYTES). */
export function openOnnxFile(file: string): FileBytes {
  const { fd } = openRegularFile(file, "The model file", MAX_ONNX_BYTES);
  fs.closeSync(fd);
  const src = new FileBytes(file);
  if (src.size > MAX_ONNX_BYTES) {
    src.close();
    throw new IntrospectError("corrupt-model", `The model file ${file} grew past ${mib(MAX_ONNX_BYTES)} while being opened.`);
  }
  return src;
}

// ---- external data ---------------------------------------------------------------------------

/** Bytes per element of TensorProto.DataType (4-bit types as 0.5); undefined for strings and unknown types. */
const ELEMENT_BYTES: Record<number, number> = {
  1: 4, // FLOAT
  2: 1, // UINT8
  3: 1, // INT8
  4: 2, // UINT16
  5: 2, // INT16
  6: 4, // INT32
  7: 8, // INT64
  9: 1, // BOOL
  10: 2, // FLOAT16
  11: 8, // DOUBLE
  12: 4, // UINT32
  13: 8, // UINT64
  14: 8, // COMPLEX64
  15: 16, // COMPLEX128
  16: 2, // BFLOAT16
  17: 1, // FLOAT8E4M3FN
  18: 1, // FLOAT8E4M3FNUZ
  19: 1, // FLOAT8E5M2
  20: 1, // FLOAT8E5M2FNUZ
  21: 0.5, // UINT4
  22: 0.5, // INT4
  23: 0.5, // FLOAT4E2M1
};

/** Bytes a tensor's shape and type need, or undefined when the type has no fixed size. */
export function declaredBytes(t: Pick<InitializerRef, "dims" | "dataType">): number | undefined {
  const per = ELEMENT_BYTES[t.dataType];
  if (per === undefined) return undefined;
  const n = t.dims.reduce((a, b) => a * b, 1);
  return per < 1 ? Math.ceil(n * per) : n * per;
}

/** One external-data file a model refers to, checked. */
export interface ExternalFile {
  /** As written in the model (relative to the .onnx file's folder). */
  location: string;
  /** The file actually read (symlinks resolved). */
  realPath: string;
  size: number;
  /** The furthest byte any tensor needs (what is read when the data is handed over as a buffer). */
  needed: number;
}

function inside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * For a folder in a Hugging Face hub cache (…/models--org--name/snapshots/<rev>/…), the real path
 * of that repository's blobs/ folder, where the snapshot's symlinks point.
 */
export function hubBlobsDir(dir: string): string | undefined {
  const parts = path.resolve(dir).split(path.sep);
  for (let i = parts.length - 2; i >= 1; i--) {
    if (parts[i] === "snapshots" && parts[i - 1].startsWith("models--") && parts[i + 1]) {
      const blobs = [...parts.slice(0, i), "blobs"].join(path.sep) || path.sep;
      try {
        return fs.realpathSync(blobs);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function refuse(onnx: string, message: string): never {
  throw new IntrospectError("corrupt-model", `${path.basename(onnx)}: ${message}`);
}

/**
 * Checks every external-data reference of a scanned model against the rules above and returns the
 * files by location. Throws an IntrospectError with a sentence for the first reference that breaks one.
 */
export function checkExternalData(m: ScannedModel): Map<string, ExternalFile> {
  const onnx = m.path;
  const dir = path.dirname(path.resolve(onnx));
  const files = new Map<string, ExternalFile>();
  let realDir: string | undefined;
  let blobs: string | undefined | null = null;
  for (const t of [...m.initializers.values(), ...(m.nestedExternal ?? [])]) {
    const ext = t.external;
    if (!ext) continue;
    const loc = ext.location;
    const tensor = `tensor ${JSON.stringify(t.name)}`;
    if (!loc || loc.includes("\0")) refuse(onnx, `${tensor} has external data with an empty or invalid location.`);
    if (path.isAbsolute(loc) || /^[a-zA-Z]:[\\/]/.test(loc))
      refuse(onnx, `${tensor} keeps its weights at the absolute path ${loc}; external data must be a file beside the .onnx file.`);
    const lexical = path.resolve(dir, loc);
    if (lexical === dir) refuse(onnx, `${tensor} names the model's folder itself (${loc}) as its weights file.`);
    if (!inside(dir, lexical))
      refuse(onnx, `${tensor} keeps its weights at ${loc}, outside the model's folder ${dir}; external data must be a file inside it.`);
    if (!Number.isSafeInteger(ext.offset) || ext.offset < 0)
      refuse(onnx, `${tensor} has an invalid external-data offset; the file is damaged.`);
    if (ext.length !== -1 && (!Number.isSafeInteger(ext.length) || ext.length < 0))
      refuse(onnx, `${tensor} has an invalid external-data length; the file is damaged.`);
    const want = declaredBytes(t);
    if (want !== undefined && ext.length !== -1 && ext.length !== want)
      refuse(onnx, `${tensor} declares ${ext.length} bytes of external data, but its shape and type need ${want}; the file is damaged.`);
    const length = ext.length !== -1 ? ext.length : want;
    if (length === undefined) refuse(onnx, `${tensor} has external data of a type without a fixed size and no length.`);

    let f = files.get(loc);
    if (!f) {
      let realPath: string;
      try {
        realPath = fs.realpathSync(lexical);
      } catch {
        throw new IntrospectError(
          "model-not-found",
          `The weights file ${loc} that ${path.basename(onnx)} refers to is missing from ${dir}. Copy the .onnx_data file(s) next to the .onnx file.`,
        );
      }
      realDir ??= fs.realpathSync(dir);
      if (!inside(realDir, realPath)) {
        if (blobs === null) blobs = hubBlobsDir(dir);
        const hubBlob = blobs !== undefined && path.dirname(realPath) === blobs;
        if (!hubBlob)
          refuse(
            onnx,
            `the weights file ${loc} is a link to ${realPath}, outside the model's folder ${realDir}; external data must be a file inside it.`,
          );
      }
      let st: fs.Stats;
      try {
        st = fs.statSync(realPath);
      } catch (e) {
        throw new IntrospectError("model-not-found", `Cannot read the weights file ${loc}: ${(e as Error).message}`);
      }
      if (!st.isFile()) refuse(onnx, `the weights file ${loc} is ${describeNonFile(st)}, not a regular file.`);
      f = { location: loc, realPath, size: st.size, needed: 0 };
      files.set(loc, f);
    }
    const end = ext.offset + length;
    if (end > f.size)
      refuse(
        onnx,
        `the weights file ${loc} is ${f.size} bytes, but ${tensor} needs bytes ${ext.offset}-${end}: the file is truncated; download it again.`,
      );
    f.needed = Math.max(f.needed, end);
  }
  return files;
}

/**
 * The external-data files of `m` as buffers (what onnxruntime needs when the edited graph is not
 * beside them), each read up to the last byte a tensor declares, from the checked real path.
 */
export function readExternalData(m: ScannedModel): Array<{ path: string; data: Uint8Array }> {
  const out: Array<{ path: string; data: Uint8Array }> = [];
  for (const f of checkExternalData(m).values()) {
    if (f.needed > bufferConstants.MAX_LENGTH)
      throw new IntrospectError(
        "bad-input",
        `The weights file ${f.location} is too large to hand to onnxruntime as one buffer (${mib(f.needed)}): copy the model to a folder you can write to.`,
      );
    const { fd } = openRegularFile(f.realPath, "The weights file", Number.MAX_SAFE_INTEGER);
    try {
      out.push({ path: f.location, data: readExactly(fd, f.needed, f.realPath, "The weights file") });
    } finally {
      fs.closeSync(fd);
    }
  }
  return out;
}

/**
 * The checks above for an .onnx file that onnxruntime is about to open directly: a regular file
 * of bounded size whose external data passes checkExternalData.
 */
export function checkModelFiles(onnxFile: string): void {
  const src = openOnnxFile(onnxFile);
  try {
    let scanned: ScannedModel;
    try {
      scanned = scanModel(onnxFile, src, 0);
    } catch (e) {
      throw new IntrospectError(
        "corrupt-model",
        `${path.basename(onnxFile)} is not a readable ONNX model (${(e as Error).message}). The file may be truncated or not an ONNX protobuf: re-export or re-download it.`,
      );
    }
    checkExternalData(scanned);
  } finally {
    src.close();
  }
}
