"""Read models of the engine state for the compacted ``contact.state`` / ``account.state`` topics."""

from __future__ import annotations

from collections.abc import Mapping

from processors import fit, intent
from processors.clock import from_ms
from processors.rules import Rules
from processors.state import AccountState, ContactState
from schemas import models


def contact_view(contact: ContactState, account: AccountState | None, rules: Rules) -> models.ContactState:
    at = contact.updated_ms
    fit_score, _ = fit.score_fit(contact, account, rules)
    intent_score, counted = intent.scored(contact.window, at, contact.cycle_start_ms, rules)
    return models.ContactState(
        contact_id=contact.contact_id,
        account_id=account.account_id if account else contact.account_id,
        email=contact.email,
        stage=contact.stage,
        fit_score=round(fit_score, 3),
        intent_score=round(intent_score, 3),
        total_score=round(fit_score + intent_score, 3),
        last_mql_id=contact.last_mql_id,
        last_mql_at=from_ms(contact.last_mql_ms) if contact.last_mql_ms is not None else None,
        sla_status=contact.sla.status if contact.sla else None,
        owner_id=contact.owner_id or (account.owner_id if account else None),
        window=[
            models.WindowSignal(signal=s[1], points=round(p, 3), event_id=s[3], at=from_ms(s[0])) for s, p in counted
        ],
        updated_at=from_ms(at),
        rules_version=rules.version,
    )


def account_view(account: AccountState, contacts: Mapping[str, ContactState], rules: Rules) -> models.AccountState:
    members = account.members
    return models.AccountState(
        account_id=account.account_id,
        domain=account.domain,
        name=account.name,
        is_customer=account.is_customer,
        engaged_contacts=sorted(contacts[k].contact_id if k in contacts else k for k in members),
        departments=sorted({m.department for m in members.values() if m.department}),
        last_mql_id=account.last_mql_id,
        last_mql_at=from_ms(account.last_mql_ms) if account.last_mql_ms is not None else None,
        owner_id=account.owner_id,
        updated_at=from_ms(account.updated_ms),
        rules_version=rules.version,
    )
