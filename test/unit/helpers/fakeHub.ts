// A Hugging Face hub cache laid out as the hub lays it out, made from a model folder at test time:
// <hub>/models--<org>--<name>/blobs/<sha256 of the file>, refs/main holding the revision, and
// snapshots/<revision>/<same relative paths> as relative symlinks into blobs/.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export interface FakeHubRepo {
  /** The snapshot folder (what the picker opens). */
  snapshot: string;
  blobs: string;
  revision: string;
}

/** Copies every file of `source` (recursively, skipping `skip`) into the hub cache at `hub` as `org/name`. */
export function addHubRepo(hub: string, repo: string, source: string, skip: (rel: string) => boolean = () => false): FakeHubRepo {
  const dir = path.join(hub, `models--${repo.split("/").join("--")}`);
  const blobs = path.join(dir, "blobs");
  const revision = crypto.createHash("sha1").update(repo).digest("hex");
  const snapshot = path.join(dir, "snapshots", revision);
  fs.mkdirSync(blobs, { recursive: true });
  fs.mkdirSync(path.join(dir, "refs"), { recursive: true });
  fs.writeFileSync(path.join(dir, "refs", "main"), revision);
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(source, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (skip(r)) continue;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        const bytes = fs.readFileSync(path.join(source, r));
        const sha = crypto.createHash("sha256").update(bytes).digest("hex");
        if (!fs.existsSync(path.join(blobs, sha))) fs.writeFileSync(path.join(blobs, sha), bytes);
        const link = path.join(snapshot, r);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.relative(path.dirname(link), path.join(blobs, sha)), link);
      }
    }
  };
  walk("");
  return { snapshot, blobs, revision };
}
