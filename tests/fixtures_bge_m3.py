"""A tiny, randomly initialised model in the BAAI/bge-m3 folder layout, built offline.

It exercises the bge-m3 loading path (XLM-RoBERTa encoder, SentencePiece-style tokenizer,
CLS pooling, normalisation) without the 2.2 GB of real weights. Its vectors mean nothing;
shapes, plumbing and determinism are what the tests check.

Files (as in the bge-m3 repository): config.json, model.safetensors, tokenizer.json,
tokenizer_config.json, special_tokens_map.json, modules.json, sentence_bert_config.json,
config_sentence_transformers.json, 1_Pooling/config.json, colbert_linear.pt,
sparse_linear.pt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R ids 0..4

_PHRASES = [
    "manage software development projects",
    "develop web applications with Python",
    "communicate with customers",
    "maintain electrical equipment",
    "analyse financial data",
    "work in a team",
    "teach foreign languages",
    "operate forklift trucks",
    "provide nursing care",
    "Softwareentwicklungsprojekte leiten",
    "mit Kunden kommunizieren",
    "gérer des projets de développement logiciel",
    "travailler en équipe",
]


def _corpus(extra: Sequence[str] = ()) -> list[str]:
    verbs = ["plan", "test", "design", "support", "planen", "testen", "concevoir"]
    objects = ["databases", "networks", "budgets", "machines", "Datenbanken", "réseaux"]
    return _PHRASES + [f"{v} {o}" for v in verbs for o in objects] + list(extra)


def _tokenizer(vocab_size: int, corpus: Sequence[str] = ()):  # type: ignore[no-untyped-def]
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, unk_token="<unk>", show_progress=False
    )
    tok.train_from_iterator(_corpus(corpus), trainer=trainer)
    # The trainer's piece order (= token ids) and last score bits vary between runs: sort and
    # round them so the fixture is the same every time.
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    head, rest = vocab[: len(SPECIALS)], vocab[len(SPECIALS) :]
    assert [piece for piece, _ in head] == SPECIALS
    rest = sorted(([p, round(s, 2)] for p, s in rest), key=lambda ps: (-ps[1], ps[0]))
    spec["model"]["vocab"] = head + rest
    spec["model"]["unk_id"] = SPECIALS.index("<unk>")
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    return tok


def build_tiny_bge_m3(
    out: Path,
    *,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate: int | None = None,
    max_len: int = 128,
    vocab_size: int = 400,
    corpus: Sequence[str] = (),
    seed: int = 0,
) -> Path:
    """Write the model into ``out`` (created) and return it.

    The defaults make a tiny model for tests; bge-m3's own shape (``hidden=1024, layers=24,
    heads=16, intermediate=4096, max_len=8192``, a vocabulary trained on ``corpus``) costs
    what bge-m3 costs to run (``benchmarks/model_cost.py``).
    """
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(vocab_size, corpus)
    tokenizer.save(str(out / "tokenizer.json"))
    special = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    # Written by hand: save_pretrained() of transformers 5 names a class 4.x cannot load.
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "XLMRobertaTokenizer",
                "model_max_length": max_len,
                "clean_up_tokenization_spaces": True,
                **special,
            },
            indent=2,
        )
    )
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2))

    config = XLMRobertaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate or 2 * hidden,
        max_position_embeddings=max_len + 2,  # XLM-R positions start at pad id + 1
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    encoder = XLMRobertaModel(config).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # our own init: transformers' differs between versions
        params = dict(encoder.named_parameters())
        for name in sorted(params):
            if name.endswith("LayerNorm.weight"):
                params[name].fill_(1.0)
            elif name.endswith("bias"):
                params[name].zero_()
            else:
                params[name].copy_(torch.randn(params[name].shape, generator=generator) * 0.05)
    encoder.save_pretrained(out, safe_serialization=True)

    # bge-m3's extra heads (unused by the dense path; present for the layout)
    torch.save(
        {
            "weight": torch.randn(hidden, hidden, generator=generator) / hidden**0.5,
            "bias": torch.zeros(hidden),
        },
        out / "colbert_linear.pt",
    )
    torch.save(
        {"weight": torch.randn(1, hidden, generator=generator) / hidden**0.5, "bias": torch.zeros(1)},
        out / "sparse_linear.pt",
    )

    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (out / "modules.json").write_text(json.dumps(modules, indent=2))
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_len, "do_lower_case": False})
    )
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": hidden,
                "pooling_mode_cls_token": True,
                "pooling_mode_mean_tokens": False,
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
            },
            indent=2,
        )
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "config_sentence_transformers.json").write_text(
        json.dumps(
            {
                "__version__": {"sentence_transformers": "2.2.2"},
                "prompts": {},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine",
            }
        )
    )
    return out
