"""Rules are versioned data (YAML validated by pydantic), never code."""

from processors.rules.loader import RulesError, default_rules_text, load_rules, parse_rules
from processors.rules.model import Rules

__all__ = ["Rules", "RulesError", "default_rules_text", "load_rules", "parse_rules"]
