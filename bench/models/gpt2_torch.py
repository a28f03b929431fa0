"""A plain-PyTorch GPT-2 with the module names of Hugging Face's GPT2LMHeadModel.

Used twice: by make_gpt2_small.py to export the benchmark model to ONNX (the
TorchScript exporter turns module paths into node names such as
/transformer/h.3/Add_1, which is what the engine's architecture map looks for),
and by reference/torch_hooks.py as the hook-library side of the comparison.
Written for torch 1.13 (Debian's python3-torch); no transformers import.

Identity HookPoint modules mark the sites TransformerLens exposes so forward
hooks can read or replace them; they add no node to an export.
"""
import math

import torch
from torch import nn


class HookPoint(nn.Identity):
    """A no-op module whose only purpose is to carry forward hooks."""


class Conv1D(nn.Module):
    """GPT-2's transposed linear layer: weight is [in, out], exported as Gemm."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class NewGELU(nn.Module):
    """The tanh approximation GPT-2 uses (HF's NewGELUActivation)."""

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.d, self.n_head, self.head_dim = d, n_head, d // n_head
        self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)
        self.hook_pattern = HookPoint()

    def _split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.n_head, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x, past_k, past_v, mask_bias):
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        q, k, v = self._split(q), self._split(k), self._split(v)
        k = torch.cat([past_k, k], dim=-2)
        v = torch.cat([past_v, v], dim=-2)
        w = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        w = self.hook_pattern(torch.softmax(w + mask_bias, dim=-1))
        a = torch.matmul(w, v).permute(0, 2, 1, 3)
        a = a.reshape(a.shape[0], a.shape[1], self.d)
        return self.c_proj(a), k, v


class MLP(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.c_fc = Conv1D(4 * d, d)
        self.act = NewGELU()
        self.c_proj = Conv1D(d, 4 * d)
        self.hook_post = HookPoint()

    def forward(self, x):
        return self.c_proj(self.hook_post(self.act(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, d, n_head, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = Attention(d, n_head)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = MLP(d)
        self.hook_resid_mid = HookPoint()

    def forward(self, x, past_k, past_v, mask_bias):
        # Exactly two Adds at block level, so the export names them
        # /transformer/h.{i}/Add (resid_mid) and /transformer/h.{i}/Add_1 (resid_post), as HF's do.
        a, k, v = self.attn(self.ln_1(x), past_k, past_v, mask_bias)
        x = self.hook_resid_mid(a + x)
        x = x + self.mlp(self.ln_2(x))
        return x, k, v


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["n_embd"]
        self.wte = nn.Embedding(cfg["vocab_size"], d)
        self.wpe = nn.Embedding(cfg["n_positions"], d)
        self.h = nn.ModuleList(
            [Block(d, cfg["n_head"], cfg["layer_norm_epsilon"]) for _ in range(cfg["n_layer"])]
        )
        self.ln_f = nn.LayerNorm(d, eps=cfg["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask, position_ids, past):
        s = input_ids.shape[1]
        total = attention_mask.shape[1]
        # Causal mask for queries at absolute positions total-s .. total-1, combined with padding.
        q_pos = torch.arange(s, device=input_ids.device).unsqueeze(1) + (total - s)
        k_pos = torch.arange(total, device=input_ids.device).unsqueeze(0)
        allowed = (k_pos <= q_pos).unsqueeze(0).unsqueeze(0) & attention_mask.bool().unsqueeze(1).unsqueeze(2)
        mask_bias = (~allowed).to(torch.float32) * -1e9
        x = self.wte(input_ids) + self.wpe(position_ids)
        presents = []
        for i, block in enumerate(self.h):
            x, k, v = block(x, past[2 * i], past[2 * i + 1], mask_bias)
            presents += [k, v]
        return self.ln_f(x), presents


class GPT2(nn.Module):
    """forward(input_ids, attention_mask, position_ids, *past) -> (logits, *presents).

    past and presents are flat: key 0, value 0, key 1, ..., each [batch, heads, len, head_dim];
    flat so that torch.onnx.export names them past_key_values.{i}.key/value in order.
    """

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = Transformer(cfg)
        self.lm_head = nn.Linear(cfg["n_embd"], cfg["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as in GPT-2

    def forward(self, input_ids, attention_mask, position_ids, *past):
        # Calls self.transformer as a module (not its parts) so export scopes read /transformer/h.{i}/...
        x, presents = self.transformer(input_ids, attention_mask, position_ids, past)
        return (self.lm_head(x), *presents)

    def blocks(self):
        return list(self.transformer.h)

    def empty_past(self, batch=1):
        c = self.cfg
        shape = (batch, c["n_head"], 0, c["n_embd"] // c["n_head"])
        return [torch.zeros(shape) for _ in range(2 * c["n_layer"])]


GPT2_SMALL = {
    "model_type": "gpt2",
    "architectures": ["GPT2LMHeadModel"],
    "vocab_size": 50257,
    "n_positions": 1024,
    "n_ctx": 1024,
    "n_embd": 768,
    "n_layer": 12,
    "n_head": 12,
    "n_inner": None,
    "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-5,
    "bos_token_id": 50256,
    "eos_token_id": 50256,
    "tie_word_embeddings": True,
}


def init_weights(model, seed):
    """GPT-2's own initialisation (normal 0.02, residual projections scaled by
    1/sqrt(2 * layers)) from a fixed seed: activations stay in the range a trained
    model has, so timings are representative and no value over- or underflows."""
    g = torch.Generator().manual_seed(seed)
    n_layer = model.cfg["n_layer"]
    with torch.no_grad():
        for name, p in model.named_parameters():
            # No two tensors may be equal: the exporter merges equal initializers into one,
            # which would lose the names the reference maps weights by. Hence noisy norms and biases.
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.normal_(1.0, 0.02, generator=g)
            elif name.endswith(".bias"):
                p.normal_(0.0, 0.02, generator=g)
            elif name.endswith("c_proj.weight"):
                p.normal_(0.0, 0.02 / math.sqrt(2 * n_layer), generator=g)
            else:
                p.normal_(0.0, 0.02, generator=g)
