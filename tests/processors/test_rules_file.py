"""Rules files: the shipped defaults validate; a bad file is refused with line and field."""

from __future__ import annotations

import pytest

from processors.rules import RulesError, default_rules_text, load_rules, parse_rules


def test_shipped_defaults_carry_a_version_and_the_example_icp() -> None:
    rules = load_rules()
    assert rules.version
    assert {
        "software",
        "saas",
        "financial services",
        "manufacturing",
        "healthcare",
    } <= rules.fit.industries.normalised
    assert set(rules.fit.territory.countries) == {"US", "CA", "GB", "IE", "DE", "FR", "NL", "AU"}
    assert {
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "icloud.com",
    } <= rules.fit.negatives.personal_email.normalised
    assert {k.value: v for k, v in rules.sla.tiers.items()} == {"P1": 15, "P2": 60, "P3": 1440}


def test_bad_value_is_reported_with_its_line_and_field() -> None:
    text = default_rules_text().replace("half_life_days: 14", "half_life_days: -3")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "half_life_days: -3" in row)
    with pytest.raises(RulesError) as err:
        parse_rules(text, "mine.yaml")
    assert f"mine.yaml: line {line}: intent.decay.half_life_days" in str(err.value)


def test_typo_in_a_key_is_an_error_not_a_silent_default() -> None:
    text = default_rules_text().replace("  intent: 30\n", "  intnet: 30\n", 1)
    with pytest.raises(RulesError) as err:
        parse_rules(text)
    assert "thresholds.intnet" in str(err.value) and "thresholds.intent" in str(err.value)


def test_invalid_regex_and_missing_tier_are_named() -> None:
    text = default_rules_text().replace("pattern: '/pricing'", "pattern: '/pricing('")
    text = text.replace("P3: 1440", "")
    with pytest.raises(RulesError) as err:
        parse_rules(text)
    message = str(err.value)
    assert "invalid regular expression" in message and "missing" in message and "P3" in message


def test_not_yaml_is_refused() -> None:
    with pytest.raises(RulesError, match="not valid YAML"):
        parse_rules("version: [unclosed")
