"""unionbot (工会问答助手): retrieval-QA over union work, workers' rights and labour law."""

__version__ = "0.1.0"
