"""Measurements of the demo models (README.md numbers) and their reference tensors."""
import math
import os
import random

import torch

import arch
import common
import corpus

DEV = "cuda" if torch.cuda.is_available() else "cpu"


def last_logits(model, tok, texts):
    encs = [tok.encode(t).ids for t in texts]
    n = max(len(e) for e in encs)
    ids = torch.zeros(len(encs), n, dtype=torch.long)
    am = torch.zeros(len(encs), n, dtype=torch.long)
    for i, e in enumerate(encs):
        ids[i, :len(e)] = torch.tensor(e)
        am[i, :len(e)] = 1
    with torch.no_grad():
        logits, _ = model.run(ids.to(DEV), am.to(DEV))
    last = torch.tensor([len(e) - 1 for e in encs], device=DEV)
    return logits[torch.arange(len(encs), device=DEV), last]


def tid(tok, word):
    ids = tok.encode(word).ids
    return ids[0]


def ioi_accuracy(model, tok, names, templates, n=400, seed=0):
    rng = random.Random(seed)
    ps = [corpus.ioi(rng, names, templates) for _ in range(n)]
    lg = last_logits(model, tok, [p for p, _, _ in ps])
    io = torch.tensor([tid(tok, a) for _, a, _ in ps], device=DEV)
    s = torch.tensor([tid(tok, b) for _, _, b in ps], device=DEV)
    r = torch.arange(n, device=DEV)
    acc = (lg.argmax(-1) == io).float().mean().item()
    ld = (lg[r, io] - lg[r, s]).mean().item()
    return {"top1": round(acc, 4), "logit_diff": round(ld, 3), "n": n}


def induction(model, vocab, n_special, n=200, half=20, seed=123):
    g = torch.Generator().manual_seed(seed)
    r = torch.randint(n_special, vocab, (n, half), generator=g)
    x = torch.cat([r, r], 1).to(DEV)
    with torch.no_grad():
        pred = model.run(x)[0].argmax(-1)
    second = (pred[:, half:2 * half - 1] == x[:, half + 1:]).float().mean().item()
    first = (pred[:, :half - 1] == x[:, 1:half]).float().mean().item()
    return {"second_copy_top1": round(second, 4), "first_copy_top1": round(first, 4), "n": n, "length": half}


def capture(model, ids, extra_hook=None):
    cap, chosen = {}, {}

    def hook(name, t):
        if extra_hook is not None:
            t = extra_hook(name, t)
        if name.endswith("moe.chosen_experts"):
            chosen[name.split(".moe")[0]] = t.tolist()
        elif name.endswith("hook_router_logits"):
            cap[name] = t.detach().clone()
        else:
            cap[name] = t[0].detach().clone()
        return t

    with torch.no_grad():
        logits, _ = model.run(torch.tensor([ids], device=next(model.parameters()).device), hook=hook)
    cap["logits"] = logits[0]
    return cap, chosen


def adder(site, vec):
    return lambda name, t: t + vec if name == site else t


def sentiment(model, tok, layer):
    rng = random.Random(777)
    site = f"blocks.{layer}.hook_resid_post"
    means = []
    for positive in (True, False):
        acc = []
        for _ in range(150):
            cap, _ = capture(model, tok.encode(corpus.sentiment(rng, positive)[0]).ids)
            acc.append(cap[site].mean(0))
        means.append(torch.stack(acc).mean(0))
    direction = means[0] - means[1]
    pos_ids = sorted({tid(tok, " " + w) for w in corpus.POS_ADJ})
    neg_ids = sorted({tid(tok, " " + w) for w in corpus.NEG_ADJ})
    groups = {"neutral": [f"The {t} was" for t in corpus.THINGS],
              "negative_context": [f"I hated this {t}. It was" for t in corpus.THINGS]}
    table = {}
    for gname, texts in groups.items():
        for alpha in (-2.0, 0.0, 1.0, 2.0, 3.0):
            enc = [tok.encode(t).ids for t in texts]
            margins, wins = [], 0
            for e in enc:
                with torch.no_grad():
                    lg, _ = model.run(torch.tensor([e], device=DEV), hook=adder(site, alpha * direction))
                lp = torch.log_softmax(lg[0, -1], -1)
                m = (torch.logsumexp(lp[pos_ids], 0) - torch.logsumexp(lp[neg_ids], 0)).item()
                margins.append(m)
                wins += m > 0
            table[f"{gname} alpha={alpha}"] = {"logP(pos)-logP(neg)": round(sum(margins) / len(margins), 3),
                                               "frac_positive": round(wins / len(enc), 3)}
    examples = {}
    for alpha in (-3.0, 0.0, 3.0):
        for text in ("The food was", "I hated this movie. It was"):
            ids = greedy(model, tok.encode(text).ids, 10, adder(site, alpha * direction))
            examples[f"{text!r} alpha={alpha}"] = tok.decode(ids)
    return direction, site, {"site": site, "direction_norm": round(direction.norm().item(), 3),
                             "table": table, "greedy": examples}


def greedy(model, ids, n, hook=None):
    ids = list(ids)
    out = []
    for _ in range(n):
        with torch.no_grad():
            lg, _ = model.run(torch.tensor([ids], device=next(model.parameters()).device), hook=hook)
        nxt = int(lg[0, -1].argmax())
        ids.append(nxt)
        out.append(nxt)
    return out


def nmi(a, b):
    a, b = torch.tensor(a), torch.tensor(b)
    joint = torch.zeros(int(a.max()) + 1, int(b.max()) + 1)
    joint.index_put_((a, b), torch.ones(len(a)), accumulate=True)
    p = joint / joint.sum()
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = (p[nz] * (p[nz] / (pa[:, None] * pb[None, :])[nz]).log()).sum().item()
    h = lambda q: -(q[q > 0] * q[q > 0].log()).sum().item()  # noqa: E731
    return mi / max(1e-9, 0.5 * (h(pa) + h(pb)))


def moe_topics(model, tok, n_layers):
    topics = list(corpus.TOPICS)
    labels, experts = [], {i: [] for i in range(n_layers)}
    for topic, text in corpus.topic_blocks(200):
        ids = tok.encode(text).ids
        _, chosen = capture(model, ids)
        labels += [topics.index(topic)] * len(ids)
        for i in range(n_layers):
            experts[i] += [c[0] for c in chosen[f"blocks.{i}"]]
    out = {}
    for i in range(n_layers):
        usage = torch.bincount(torch.tensor(experts[i]), minlength=model.c["num_experts"]).float()
        by_topic = {}
        for t, name in enumerate(topics):
            e = torch.tensor([x for x, lab in zip(experts[i], labels) if lab == t])
            by_topic[name] = torch.bincount(e, minlength=model.c["num_experts"]).tolist()
        out[f"layer {i}"] = {"nmi": round(nmi(labels, experts[i]), 3),
                             "top1_usage": [round(u, 3) for u in (usage / usage.sum()).tolist()],
                             "top1_counts_by_topic": by_topic}
    return out


def ioi_pairs(tok, names, n=40, seed=3):
    rng = random.Random(seed)
    t = "When {A} and {B} went to the store, {S} handed the drink to"
    out = []
    for _ in range(n):
        a, b = rng.sample(names, 2)
        clean = tok.encode(t.format(A=a, B=b, S=b)).ids
        corrupt = tok.encode(t.format(A=a, B=b, S=a)).ids
        out.append((clean, corrupt, tid(tok, " " + a), tid(tok, " " + b)))
    return out


def patch_hook(site, clean_row, rows):
    """Row i of the batch gets the clean activation at position i."""
    def hook(name, t):
        if name != site:
            return t
        t = t.clone()
        t[rows, rows] = clean_row[rows]
        return t
    return hook


def patching(model, tok, names, n_layers):
    pairs = ioi_pairs(tok, names)
    S = len(pairs[0][0])
    table = torch.zeros(n_layers, S)
    for clean, corrupt, io, s in pairs:
        cap, _ = capture(model, clean)
        ld_clean = (cap["logits"][-1, io] - cap["logits"][-1, s]).item()
        with torch.no_grad():
            lc = model.run(torch.tensor([corrupt], device=DEV))[0][0, -1]
        ld_corr = (lc[io] - lc[s]).item()
        rows = torch.arange(S, device=DEV)
        for layer in range(n_layers):
            site = f"blocks.{layer}.hook_resid_pre"
            with torch.no_grad():
                lg = model.run(torch.tensor([corrupt] * S, device=DEV), hook=patch_hook(site, cap[site], rows))[0][:, -1]
            table[layer] += ((lg[:, io] - lg[:, s] - ld_corr) / (ld_clean - ld_corr)).cpu()
    table /= len(pairs)
    clean0, corrupt0, io0, s0 = pairs[0]
    s2 = [i for i in range(S) if clean0[i] != corrupt0[i]][0]
    labels = [tok.decode([i]) for i in clean0]
    labels[clean0.index(io0)] += " (IO)"
    labels[clean0.index(s0)] += " (S1)"
    labels[s2] += " (S2)"
    labels[-1] += " (END)"
    summary = {}
    for layer in range(n_layers):
        p = int(table[layer].argmax())
        summary[f"layer {layer}"] = {"max_position": p, "max_label": labels[p], "max_value": round(table[layer, p].item(), 3)}
    return table, labels, summary, pairs[0] + (s2,)


def all_measures(name, model, tok, names, out, tiny):
    model.to(DEV).eval()
    L = arch.n_layers(model)
    tr = [n for n in corpus.TRAIN_NAMES if n in names]
    ho = [n for n in corpus.HELDOUT_NAMES if n in names]
    m = {"ioi": {"train_names_train_templates": ioi_accuracy(model, tok, tr, corpus.IOI_TRAIN_TEMPLATES),
                 "train_names_heldout_templates": ioi_accuracy(model, tok, tr, corpus.IOI_HELDOUT_TEMPLATES),
                 "heldout_names_train_templates": ioi_accuracy(model, tok, ho, corpus.IOI_TRAIN_TEMPLATES),
                 "heldout_names_heldout_templates": ioi_accuracy(model, tok, ho, corpus.IOI_HELDOUT_TEMPLATES)},
         "induction": induction(model, tok.get_vocab_size(), 5)}
    mid = L // 2 - 1
    direction, steer_site, m["sentiment"] = sentiment(model, tok, mid)
    table, labels, summary, pair = patching(model, tok, names, L)
    m["patching_summary"] = summary
    m["patching_table"] = {"positions": labels, "rows": [[round(v, 3) for v in r] for r in table.tolist()]}
    if "num_experts" in model.c:
        m["moe_topic"] = moe_topics(model, tok, L)
    write_reference(name, model.cpu(), tok, out, direction.cpu(), steer_site, pair)
    return m


def write_reference(name, model, tok, out, direction, steer_site, pair):
    prompts = [(t, tok.encode(t).ids) for t in common.PROMPTS]
    caps, chosen = [], {}
    for p, (_, ids) in enumerate(prompts):
        cap, ch = capture(model, ids)
        caps.append(cap)
        if ch:
            chosen[str(p)] = ch
    alpha = 3.0
    steer_ids = tok.encode("I hated this movie. It was").ids
    hook = adder(steer_site, alpha * direction)
    steer_cap, _ = capture(model, steer_ids, hook)
    greedy_ids = greedy(model, steer_ids, 10, hook)
    clean, corrupt, io, s, pos = pair
    layer = 1
    site = f"blocks.{layer}.hook_resid_pre"
    clean_cap, _ = capture(model, clean)
    rows = torch.arange(1)
    cpos = torch.tensor([pos])

    def ph(nm, t):
        if nm != site:
            return t
        t = t.clone()
        t[rows, cpos] = clean_cap[site][cpos]
        return t

    patched, _ = capture(model, corrupt, ph)
    extra = {"steer/vector": direction, "steer/logits": steer_cap["logits"], "patch/logits": patched["logits"]}
    manifest = {
        "steering": {"prompt_ids": steer_ids, "prompt_text": "I hated this movie. It was", "site": steer_site,
                     "alpha": alpha, "vector": "steer/vector", "logits": "steer/logits", "greedy_ids": greedy_ids,
                     "greedy_text": tok.decode(greedy_ids),
                     "note": "vector*alpha added at every position of the site; greedy_ids are the 10 new tokens, "
                             "each step a full forward pass over prompt + tokens so far with the vector added"},
        "patching": {"clean_ids": clean, "corrupt_ids": corrupt, "site": site, "position": pos,
                     "answer_ids": {"clean": io, "corrupt": s}, "logits": "patch/logits",
                     "note": "corrupted run with the clean activation at that site and position (S2 name)"},
    }
    if chosen:
        manifest["chosen_experts"] = {"note": "per prompt index, per block: top-k expert ids per position, best first",
                                      "top_k": model.c["num_experts_per_tok"], "by_prompt": chosen}
    tol = {"abs": 1e-4, "note": "float32 PyTorch (CPU) vs onnxruntime CPU; logits and activations"}
    common.save_reference(os.path.join(out, "test", "fixtures", "reference", name), name, prompts, caps, extra,
                          manifest, tol)
