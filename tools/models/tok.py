"""Byte-level BPE tokenizer (vocabulary 2048) trained on the corpus, saved as HF
tokenizer.json + tokenizer_config.json with a chat template."""
import json
import os

import corpus

SPECIALS = ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
VOCAB = 2048
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def train(out_dir, n_docs=60000):
    # Imported here so that scripts importing this module (tune_demo.py) run without `tokenizers`.
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    docs = corpus.documents(n_docs, seed=4321)
    # Every name must be learnt as a token of its own, held-out ones included.
    docs += [f"{n} and {n} met {n}. " * 3 for n in corpus.NAMES]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(docs, trainer)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None, "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": None,
        "add_bos_token": False, "model_max_length": 256, "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
        "added_tokens_decoder": {str(tok.token_to_id(s)): {"content": s, "special": True, "lstrip": False,
                                                          "rstrip": False, "normalized": False, "single_word": False}
                                 for s in SPECIALS},
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    bad = [n for n in corpus.NAMES if len(tok.encode(" " + n).ids) != 1]
    return tok, bad


if __name__ == "__main__":
    import sys
    t, bad = train(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tok", int(sys.argv[2]) if len(sys.argv) > 2 else 20000)
    print("vocab", t.get_vocab_size(), "names not single-token:", bad)
