"""Give & Take's matcher: who should meet whom, and why (DESIGN.md, "Matching").

A pure library (numpy, snowballstemmer; the MiniLM encoder adds tokenizers and safetensors): no Flask, no database.
"""
from .encoders import FusedEncoder, LexicalEncoder, default_encoder
from .engine import MatchEngine
from .profiles import Card, DuplicateProfile, InvalidCard, InvalidProfile, MatcherError, Profile, UnknownProfile
from .rounds import RoundResult
from .scoring import Match, Reason, reciprocal

__all__ = ["Card", "DuplicateProfile", "FusedEncoder", "InvalidCard", "InvalidProfile", "LexicalEncoder", "Match",
           "MatchEngine", "MatcherError", "Profile", "Reason", "RoundResult", "UnknownProfile", "default_encoder",
           "reciprocal"]
