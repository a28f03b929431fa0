"""A plain-PyTorch Llama (RMSNorm, SwiGLU, RoPE, grouped-query attention) with
the module names of Hugging Face's LlamaForCausalLM, read from a config.json.

Same calling convention as bench/models/gpt2_torch.GPT2:
forward(input_ids, attention_mask, position_ids, *past) -> (logits, *presents),
past/presents flat [key 0, value 0, key 1, ...] of shape [batch, kv_heads, len, head_dim],
keys stored after rotary embedding, as HF does. HookPoints mark TransformerLens sites.
"""
import torch
from torch import nn

from gpt2_torch import HookPoint


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


class MLP(nn.Module):
    def __init__(self, d, d_mlp, bias):
        super().__init__()
        self.gate_proj = nn.Linear(d, d_mlp, bias=bias)
        self.up_proj = nn.Linear(d, d_mlp, bias=bias)
        self.down_proj = nn.Linear(d_mlp, d, bias=bias)
        self.act_fn = nn.SiLU()
        self.hook_post = HookPoint()

    def forward(self, x):
        return self.down_proj(self.hook_post(self.act_fn(self.gate_proj(x)) * self.up_proj(x)))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def repeat_kv(x, rep):
    """[b, kv, t, d] -> [b, kv*rep, t, d], each kv head serving `rep` query heads (expand +
    reshape, as HF does; repeat_interleave exports with the traced length baked in)."""
    if rep == 1:
        return x
    b, kv, t, d = x.shape
    return x[:, :, None].expand(b, kv, rep, t, d).reshape(b, kv * rep, t, d)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.n_head = cfg["num_attention_heads"]
        self.n_kv = cfg.get("num_key_value_heads") or self.n_head
        self.hd = cfg.get("head_dim") or d // self.n_head
        bias = bool(cfg.get("attention_bias", False))
        self.q_proj = nn.Linear(d, self.n_head * self.hd, bias=bias)
        self.k_proj = nn.Linear(d, self.n_kv * self.hd, bias=bias)
        self.v_proj = nn.Linear(d, self.n_kv * self.hd, bias=bias)
        self.o_proj = nn.Linear(self.n_head * self.hd, d, bias=bias)
        self.hook_pattern = HookPoint()

    def forward(self, x, past_k, past_v, mask_bias, cos, sin):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.n_head, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.n_kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        kk, vv = repeat_kv(k, self.n_head // self.n_kv), repeat_kv(v, self.n_head // self.n_kv)
        w = torch.matmul(q, kk.transpose(-1, -2)) * (self.hd ** -0.5)
        w = self.hook_pattern(torch.softmax(w + mask_bias, dim=-1))
        a = torch.matmul(w, vv).transpose(1, 2).reshape(b, s, self.n_head * self.hd)
        return self.o_proj(a), k, v


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(d, eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(d, eps)
        self.mlp = MLP(d, cfg["intermediate_size"], bool(cfg.get("mlp_bias", False)))
        self.hook_resid_mid = HookPoint()

    def forward(self, x, past_k, past_v, mask_bias, cos, sin):
        a, k, v = self.self_attn(self.input_layernorm(x), past_k, past_v, mask_bias, cos, sin)
        x = self.hook_resid_mid(x + a)
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, k, v


class Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6))

    def forward(self, input_ids, attention_mask, position_ids, past, inv_freq):
        s, total = input_ids.shape[1], attention_mask.shape[1]
        q_pos = torch.arange(s).unsqueeze(1) + (total - s)
        allowed = (torch.arange(total).unsqueeze(0) <= q_pos)[None, None] & attention_mask.bool()[:, None, None, :]
        mask_bias = (~allowed).to(torch.float32) * -1e9
        freqs = position_ids[..., None].to(torch.float32) * inv_freq
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        x = self.embed_tokens(input_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, past[2 * i], past[2 * i + 1], mask_bias, cos, sin)
            presents += [k, v]
        return self.norm(x), presents


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        # transformers 5 writes rope_parameters {rope_theta, rope_type}; 4.x rope_theta + rope_scaling.
        rope = dict(cfg.get("rope_scaling") or {}, **(cfg.get("rope_parameters") or {}))
        if rope.get("rope_type", rope.get("type")) not in (None, "default"):
            raise SystemExit(f"reference Llama: rope scaling {rope} is not implemented")
        self.cfg = cfg
        self.model = Model(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        if cfg.get("tie_word_embeddings", False):
            self.lm_head.weight = self.model.embed_tokens.weight
        a = self.model.layers[0].self_attn
        self.n_layer, self.n_kv, self.hd = len(self.model.layers), a.n_kv, a.hd
        theta = float(cfg.get("rope_theta") or rope.get("rope_theta") or 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))

    def forward(self, input_ids, attention_mask, position_ids, *past):
        # Calls self.model as a module so export scopes read /model/layers.{i}/..., as HF's do.
        x, presents = self.model(input_ids, attention_mask, position_ids, past, self.inv_freq)
        return (self.lm_head(x), *presents)

    def empty_past(self, batch=1):
        return [torch.zeros(batch, self.n_kv, 0, self.hd) for _ in range(2 * self.n_layer)]

    # Uniform access for the hook code.
    def blocks(self):
        return list(self.model.layers)
