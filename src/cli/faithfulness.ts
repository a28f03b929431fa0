// introspect faithfulness: engine outputs vs PyTorch references, model x site x max error.

import * as fs from "node:fs";
import * as path from "node:path";
import { faithfulnessTable, formatFaithTable, zooCases } from "../engine";
import { IntrospectError } from "../engine";
import { type Command, EXIT, UsageError, optionTable } from "./common";

export const faithfulnessCommand: Command = {
  name: "faithfulness",
  summary: "compare logits and every captured site with the PyTorch references",
  help: `introspect faithfulness [--root DIR | --zoo DIR --references DIR] [--json]

For every model with a PyTorch reference (models/*, test/fixtures/zoo/*, test/fixtures/local/*
under DIR, references in test/fixtures/reference/<model>/), runs the reference prompts and prints
model x site x max absolute error against the tolerance. Exit code 0 when every row passes, 4
when any row fails.

  --root DIR        repository root to search (default: the current folder)
  --zoo DIR         instead: a zoo made by tools/models/zoo.py (its index.json names each model)
  --references DIR  the zoo's reference folder (default: DIR/../reference)
  --json       print the rows as JSON: [{model, site, maxAbsError, refMax, tolerance, pass, note}]`,
  options: optionTable(["root", "zoo", "references"], ["json"]),
  async run(values, io) {
    const root = path.resolve((values.root as string | undefined) ?? ".");
    const zoo = values.zoo as string | undefined;
    if (zoo !== undefined && values.root !== undefined) throw new UsageError("give --root or --zoo, not both", "faithfulness");
    if (values.references !== undefined && zoo === undefined) throw new UsageError("--references needs --zoo DIR", "faithfulness");
    const searched = zoo === undefined ? root : path.resolve(zoo);
    if (!fs.existsSync(searched) || !fs.statSync(searched).isDirectory()) {
      throw new IntrospectError("bad-input", `${searched} is not a folder.`);
    }
    const cases = zoo
      ? zooCases(path.resolve(zoo), path.resolve((values.references as string | undefined) ?? path.join(zoo, "..", "reference")))
      : undefined;
    const rows = await faithfulnessTable(root, undefined, cases);
    if (values.json)
      io.out(JSON.stringify(rows.map((r) => ({ ...r, maxAbsError: Number.isFinite(r.maxAbsError) ? r.maxAbsError : null }))) + "\n");
    else if (rows.length === 0) io.out(`No models with references under ${searched}.\n`);
    else io.out(formatFaithTable(rows) + "\n");
    return rows.every((r) => r.pass) ? EXIT.ok : EXIT.checkFailed;
  },
};
