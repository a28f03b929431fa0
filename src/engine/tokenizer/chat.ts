// Chat templates from tokenizer_config.json, rendered with @huggingface/jinja as Transformers does.

import { Template } from "@huggingface/jinja";
import { IntrospectError } from "../types";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  /** Which named template, when tokenizer_config.json holds several; "default" otherwise. */
  name?: string;
}

/** The text of a special token entry, which configs write as a string or as {content: ...}. */
export function tokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

function pickTemplate(config: Record<string, unknown>, name: string): string | undefined {
  const t = config.chat_template;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) {
    const named = t as { name?: string; template?: string }[];
    return (named.find((x) => x.name === name) ?? named.find((x) => x.name === "default"))?.template;
  }
  return undefined;
}

export class ChatTemplates {
  private readonly cache = new Map<string, Template>();
  constructor(private readonly config: Record<string, unknown>) {}

  has(name = "default"): boolean {
    return pickTemplate(this.config, name) !== undefined;
  }

  render(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
    const name = opts.name ?? "default";
    const source = pickTemplate(this.config, name);
    if (source === undefined) {
      throw new IntrospectError(
        "bad-input",
        "This model's tokenizer_config.json has no chat_template: write the prompt as plain text instead.",
      );
    }
    let template = this.cache.get(source);
    try {
      if (!template) {
        template = new Template(source);
        this.cache.set(source, template);
      }
      const specials: Record<string, string> = {};
      for (const key of ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"]) {
        const v = tokenContent(this.config[key]);
        if (v !== undefined) specials[key] = v;
      }
      return template.render({
        ...specials,
        messages,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (e) {
      if (e instanceof IntrospectError) throw e;
      throw new IntrospectError("bad-input", `The chat template in tokenizer_config.json could not be rendered (${(e as Error).message}).`);
    }
  }
}
