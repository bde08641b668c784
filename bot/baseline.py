"""The plain baseline of the popular RAG kits, for comparison: fixed-size chunks + vector search only.

LangChain RecursiveCharacterTextSplitter (750 characters, 150 overlap, Chinese separators) and a FAISS
inner-product index over the same embedder. Kept in memory; used only by `unionbot eval --baseline`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from bot.embed import Embedder
from bot.load import load_documents

SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", " ", ""]


def baseline_search(documents: Path, embedder: Embedder, k: int = 10) -> tuple[Callable[[str], list[str]], int]:
    """A search function (question -> chunk texts, best first) and the number of chunks."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=750, chunk_overlap=150, separators=SEPARATORS,
                                              keep_separator="end")
    chunks = [c for f in load_documents(documents).files for c in splitter.split_text(f.text)]
    vecs = np.vstack([embedder.embed_passages(chunks[i : i + 32]) for i in range(0, len(chunks), 32)])
    index = faiss.IndexFlatIP(vecs.shape[1])
    index.add(vecs)

    def search(question: str) -> list[str]:
        _, rows = index.search(embedder.embed_queries([question]), k)
        return [chunks[r] for r in rows[0] if r >= 0]

    return search, len(chunks)
