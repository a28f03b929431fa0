"""Plain-PyTorch demo architectures whose module paths and parameter names mirror
Hugging Face classes, so the ONNX export carries Optimum-style names
(/model/layers.{i}/Add_output_0, /transformer/h.{i}/Add_1_output_0, ...).

Why not the HF classes directly: their cache and mask code does not trace into one
graph with past_key_values inputs reliably; this forward does, and train_demo.py
checks that the HF class loaded with the same state dict gives the same logits.

Every model takes `hook(name, tensor) -> tensor` (None when exporting), called at the
TransformerLens sites, which gives capture, steering and patching from one forward.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = torch.finfo(torch.float32).min


def call(hook, name, x):
    return x if hook is None else hook(name, x)


def attn_mask(attention_mask, q_len, past_len):
    """[B,1,q,k] boolean: causal over past + new tokens, and no padded keys."""
    k_len = attention_mask.shape[1]
    q_pos = torch.arange(q_len, device=attention_mask.device) + past_len
    k_pos = torch.arange(k_len, device=attention_mask.device)
    causal = k_pos[None, :] <= q_pos[:, None]
    return causal[None, None] & attention_mask[:, None, None, :].bool()


def attend(q, k, v, mask, hook, prefix):
    scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~mask, NEG)
    probs = torch.softmax(scores, dim=-1)
    probs = call(hook, prefix + "attn.hook_pattern", probs)
    return torch.matmul(probs, v)


# ---------------------------------------------------------------- Llama family
class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.variance_epsilon = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.variance_epsilon))


class Rotary(nn.Module):
    def __init__(self, head_dim, theta):
        super().__init__()
        inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, position_ids):
        freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.kv, self.dh = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        d = c["hidden_size"]
        self.q_proj = nn.Linear(d, self.h * self.dh, bias=False)
        self.k_proj = nn.Linear(d, self.kv * self.dh, bias=False)
        self.v_proj = nn.Linear(d, self.kv * self.dh, bias=False)
        self.o_proj = nn.Linear(self.h * self.dh, d, bias=False)

    def forward(self, x, cos, sin, mask, past, hook, prefix):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.h, self.dh).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv, self.dh).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv, self.dh).transpose(1, 2)
        cos, sin = cos[:, None], sin[:, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        rep = self.h // self.kv
        t = k.shape[2]
        kr = k[:, :, None].expand(b, self.kv, rep, t, self.dh).reshape(b, self.h, t, self.dh)
        vr = v[:, :, None].expand(b, self.kv, rep, t, self.dh).reshape(b, self.h, t, self.dh)
        o = attend(q, kr, vr, mask, hook, prefix)
        o = o.transpose(1, 2).reshape(b, s, self.h * self.dh)
        return self.o_proj(o), present


class LlamaMLP(nn.Module):
    def __init__(self, d, inter):
        super().__init__()
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x, hook=None, prefix=""):
        h = self.act_fn(self.gate_proj(x)) * self.up_proj(x)
        return self.down_proj(call(hook, prefix + "mlp.hook_post", h))


class MoeBlock(nn.Module):
    """Qwen2-MoE / OLMoE module names (mlp.gate, mlp.experts.{j}.{gate,up,down}_proj),
    no shared expert. Every expert runs on every token and is weighted by the
    (renormalised) top-k router probabilities, zero for experts not chosen: the same
    output as sparse dispatch, and it exports (router MatMul -> Softmax -> TopK)."""

    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.top_k = c["num_experts_per_tok"]
        self.gate = nn.Linear(d, c["num_experts"], bias=False)
        self.experts = nn.ModuleList(LlamaMLP(d, c["moe_intermediate_size"]) for _ in range(c["num_experts"]))

    def forward(self, x, hook=None, prefix=""):
        b, s, d = x.shape
        flat = x.reshape(-1, d)
        logits = self.gate(flat)
        logits = call(hook, prefix + "moe.hook_router_logits", logits)
        probs = torch.softmax(logits, dim=-1)
        top_w, top_i = torch.topk(probs, self.top_k, dim=-1)
        top_w = top_w / top_w.sum(dim=-1, keepdim=True)
        weights = torch.zeros_like(probs).scatter(1, top_i, top_w)
        out = torch.zeros_like(flat)
        for j, expert in enumerate(self.experts):
            out = out + expert(flat) * weights[:, j:j + 1]
        if hook is not None:
            hook(prefix + "moe.chosen_experts", top_i)
        return out.reshape(b, s, d)


class LlamaLayer(nn.Module):
    def __init__(self, c, moe):
        super().__init__()
        self.self_attn = LlamaAttention(c)
        self.mlp = MoeBlock(c) if moe else LlamaMLP(c["hidden_size"], c["intermediate_size"])
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, h, cos, sin, mask, past, hook, prefix):
        h = call(hook, prefix + "hook_resid_pre", h)
        a, present = self.self_attn(self.input_layernorm(h), cos, sin, mask, past, hook, prefix)
        a = call(hook, prefix + "hook_attn_out", a)
        h = h + a
        h = call(hook, prefix + "hook_resid_mid", h)
        m = self.mlp(self.post_attention_layernorm(h), hook, prefix)
        m = call(hook, prefix + "hook_mlp_out", m)
        h = h + m
        return call(hook, prefix + "hook_resid_post", h), present


class LlamaInner(nn.Module):
    def __init__(self, c, moe):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(LlamaLayer(c, moe) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.rotary_emb = Rotary(c["head_dim"], c["rope_theta"])

    def forward(self, input_ids, attention_mask, position_ids, past, hook):
        h = self.embed_tokens(input_ids)
        past_len = 0 if past is None else past[0][0].shape[2]
        mask = attn_mask(attention_mask, input_ids.shape[1], past_len)
        cos, sin = self.rotary_emb(position_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            h, pr = layer(h, cos, sin, mask, None if past is None else past[i], hook, f"blocks.{i}.")
            presents.append(pr)
        return call(hook, "ln_final.hook_normalized", self.norm(h)), presents


class DemoCausalLM(nn.Module):
    """forward(input_ids, attention_mask, position_ids, *past_flat) is the ONNX signature;
    run(...) is the Python one with hooks."""

    family = "llama"

    def __init__(self, c, moe=False):
        super().__init__()
        self.c = c
        self.model = LlamaInner(c, moe)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings"):
            self.lm_head.weight = self.model.embed_tokens.weight

    def run(self, input_ids, attention_mask=None, position_ids=None, past=None, hook=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if position_ids is None:
            position_ids = torch.arange(input_ids.shape[1], device=input_ids.device)[None].expand_as(input_ids)
        h, presents = self.model(input_ids, attention_mask, position_ids, past, hook)
        return self.lm_head(h), presents

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)] or None
        logits, presents = self.run(input_ids, attention_mask, position_ids, past)
        return (logits,) + tuple(t for kv in presents for t in kv)


# ---------------------------------------------------------------- GPT-2
class Conv1D(nn.Module):
    """HF GPT-2's transposed linear: weight [in, out]."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf).normal_(std=0.02))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        shape = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.d = c["n_head"], c["n_embd"]
        self.c_attn = Conv1D(3 * self.d, self.d)
        self.c_proj = Conv1D(self.d, self.d)

    def forward(self, x, mask, past, hook, prefix):
        b, s, _ = x.shape
        dh = self.d // self.h
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        q, k, v = (t.view(b, s, self.h, dh).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        o = attend(q, k, v, mask, hook, prefix)
        return self.c_proj(o.transpose(1, 2).reshape(b, s, self.d)), (k, v)


class GPT2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Conv1D(c["n_inner"], c["n_embd"])
        self.c_proj = Conv1D(c["n_embd"], c["n_inner"])
        self.act = NewGELU()

    def forward(self, x, hook, prefix):
        return self.c_proj(call(hook, prefix + "mlp.hook_post", self.act(self.c_fc(x))))


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        self.attn = GPT2Attention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        self.mlp = GPT2MLP(c)

    def forward(self, h, mask, past, hook, prefix):
        h = call(hook, prefix + "hook_resid_pre", h)
        a, present = self.attn(self.ln_1(h), mask, past, hook, prefix)
        a = call(hook, prefix + "hook_attn_out", a)
        h = a + h
        h = call(hook, prefix + "hook_resid_mid", h)
        m = call(hook, prefix + "hook_mlp_out", self.mlp(self.ln_2(h), hook, prefix))
        h = h + m
        return call(hook, prefix + "hook_resid_post", h), present


class GPT2Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList(GPT2Block(c) for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask, position_ids, past, hook):
        h = self.wte(input_ids) + self.wpe(position_ids)
        past_len = 0 if past is None else past[0][0].shape[2]
        mask = attn_mask(attention_mask, input_ids.shape[1], past_len)
        presents = []
        for i, block in enumerate(self.h):
            h, pr = block(h, mask, None if past is None else past[i], hook, f"blocks.{i}.")
            presents.append(pr)
        return call(hook, "ln_final.hook_normalized", self.ln_f(h)), presents


class DemoGPT2(DemoCausalLM):
    family = "gpt2"

    def __init__(self, c):
        nn.Module.__init__(self)
        self.c = c
        self.transformer = GPT2Inner(c)
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def run(self, input_ids, attention_mask=None, position_ids=None, past=None, hook=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if position_ids is None:
            position_ids = torch.arange(input_ids.shape[1], device=input_ids.device)[None].expand_as(input_ids)
        h, presents = self.transformer(input_ids, attention_mask, position_ids, past, hook)
        return self.lm_head(h), presents


def n_layers(m):
    return m.c.get("num_hidden_layers", m.c.get("n_layer"))


def kv_shape(m):
    """(kv heads, head dim) of the past_key_values tensors."""
    if m.family == "gpt2":
        return m.c["n_head"], m.c["n_embd"] // m.c["n_head"]
    return m.c["num_key_value_heads"], m.c["head_dim"]


def init_weights(m, seed):
    g = torch.Generator().manual_seed(seed)
    for name, p in m.named_parameters():
        if p.dim() >= 2:
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
        elif name.endswith("bias"):
            nn.init.zeros_(p)
