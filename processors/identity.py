"""Identity: visitor → contact on a form fill's email, contact ↔ CRM id, contact → account.

Anonymous visits wait on the visitor and are stitched to the contact once it is identified,
within the window. Personal email domains never join an account.
"""

from __future__ import annotations

from processors import intent
from processors.ids import stable_id
from processors.rules import Rules
from processors.state import AccountState, ContactState, Store, VisitorState
from schemas.models import CrmChange

ACCOUNT_ATTRS = ("name", "employee_count", "industry", "country", "territory")
CONTACT_ATTRS = ("job_title", "department", "seniority", "country")


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Identity:
    def __init__(self, store: Store, rules: Rules) -> None:
        self.store = store
        self.rules = rules
        self._personal = rules.fit.negatives.personal_email.normalised

    # --- visitors -------------------------------------------------------------------------------

    def visitor(self, visitor_id: str, at: int) -> VisitorState:
        visitors = self.store.visitors
        v = visitors.get(visitor_id)
        if v is None:
            v = visitors[visitor_id] = VisitorState(visitor_id)
            if at < self.store.visitors_floor_ms:
                self.store.visitors_floor_ms = max(at, 0)  # its last_seen_ms below
        if at > v.last_seen_ms:
            v.last_seen_ms = at
        return v

    def contact_of_visitor(self, visitor: VisitorState) -> ContactState | None:
        """The visitor's contact, or None: also when the sweep has forgotten it (an idle lead, or
        a contact only web visits ever named); its visits then wait as anonymous ones."""
        key = visitor.contact_key
        if key is None:
            return None
        contact = self.store.contacts.get(key)
        if contact is None and key in self.store.aliases:  # merged into another contact
            visitor.contact_key = self.store.aliases[key]
            contact = self.store.contacts.get(visitor.contact_key)
        return contact

    def link_visitor(self, visitor: VisitorState, contact: ContactState, at: int, window_ms: int) -> None:
        """Point the visitor at the contact and hand it the visitor's anonymous history."""
        if visitor.contact_key != contact.key:
            visitor.contact_key = contact.key
        if visitor.pending:
            for signal in visitor.pending:
                if at - window_ms < signal[0] <= at:
                    intent.add_signal(contact.window, signal, self.rules)
            visitor.pending.clear()
        if contact.source is None and visitor.source is not None:
            contact.source, contact.campaign = visitor.source, visitor.campaign

    # --- contacts -------------------------------------------------------------------------------

    def contact_by_email(self, email: str, at: int, event_id: str) -> ContactState:
        email = normalise_email(email)
        key = self.store.emails.get(email)
        contact = self.store.contacts.get(key) if key else None
        if contact is None:
            key = stable_id("lead", email)
            contact = self.store.contacts.get(key) or ContactState(key=key)
            self.store.contacts[key] = contact
            self._set_email(contact, email, event_id)
        if at > contact.updated_ms:
            contact.updated_ms = at
        return contact

    def contact_by_crm_id(self, crm_id: str, at: int) -> ContactState:
        """The contact with this CRM id; one created here is unconfirmed until a CRM change names
        it (``contact_of_change``), so ids that only web visits claim can expire."""
        store = self.store
        contacts = store.contacts
        key = store.crm_ids.get(crm_id)
        contact = contacts.get(key) if key else None
        if contact is None and key is not None and key not in contacts and key in store.aliases:
            key = store.crm_ids[crm_id] = store.aliases[key]  # merged into another contact
            contact = contacts.get(key) if key else None
        if contact is None:
            contact = contacts.get(crm_id) or ContactState(key=crm_id, crm_id=crm_id, crm_confirmed=False)
            contacts[contact.key] = contact
            store.crm_ids[crm_id] = contact.key
        if at > contact.updated_ms:
            contact.updated_ms = at
        return contact

    def contact_of_change(self, e: CrmChange, at: int) -> ContactState | None:
        """The contact a CRM change is about, linking its CRM id and email when both are given."""
        email = e.email or _str(e.fields.get("email"))
        if e.contact_id:
            linked = self._link_web_lead(e.contact_id, email, at)
            if linked is not None:
                return linked
            contact = self.contact_by_crm_id(e.contact_id, at)
            contact.crm_confirmed = True  # the CRM itself names this id: kept like every CRM contact
            if email:
                contact = self._attach_email(contact, normalise_email(email), e.event_id)
            return contact
        if email:
            return self.contact_by_email(email, at, e.event_id)
        return None

    def _link_web_lead(self, crm_id: str, email: str | None, at: int) -> ContactState | None:
        """The common case of a web lead the CRM now knows: give it the CRM id, nothing to merge."""
        if email is None or crm_id in self.store.crm_ids:
            return None
        key = self.store.emails.get(normalise_email(email))
        contact = self.store.contacts.get(key) if key else None
        if contact is None or contact.crm_id is not None:
            return None
        contact.crm_id = crm_id
        contact.crm_confirmed = True
        self.store.crm_ids[crm_id] = contact.key
        contact.updated_ms = max(contact.updated_ms, at)
        return contact

    def apply_contact_fields(self, contact: ContactState, e: CrmChange) -> None:
        for attr in CONTACT_ATTRS:
            value = e.fields.get(attr)
            if value is not None:
                contact.set_profile(attr, value, e.event_id)
        owner = _str(e.fields.get("owner_id"))
        if owner:
            contact.owner_id = owner
        if e.account_id and contact.account_id != e.account_id:
            contact.account_id = e.account_id
            contact.fit_cache = None

    def _set_email(self, contact: ContactState, email: str, event_id: str) -> None:
        if contact.email and contact.email != email and self.store.emails.get(contact.email) == contact.key:
            del self.store.emails[contact.email]
        contact.email = email
        contact.set_profile("email", email, event_id)
        self.store.emails[email] = contact.key

    def _attach_email(self, contact: ContactState, email: str, event_id: str) -> ContactState:
        other_key = self.store.emails.get(email)
        other = self.store.contacts.get(other_key) if other_key else None
        if other is not None and other is not contact:
            self._merge(into=contact, other=other)
        self._set_email(contact, email, event_id)
        return contact

    def _merge(self, into: ContactState, other: ContactState) -> None:
        """The CRM learnt that a web lead is one of its contacts: keep one history, not two."""
        for signal in other.window:
            intent.add_signal(into.window, signal, self.rules)
        for attr, entry in other.profile.items():
            into.profile.setdefault(attr, entry)
        into.fit_cache = None
        if into.source is None:
            into.source, into.campaign = other.source, other.campaign
        if other.qualified_cycle >= 0 and into.qualified_cycle < 0:
            into.stage, into.qualified_cycle = other.stage, into.cycle
            into.last_mql_id, into.last_mql_ms = other.last_mql_id, other.last_mql_ms
            into.sla = other.sla
        for stage, ms in other.stage_at.items():
            into.stage_at.setdefault(stage, ms)
        into.updated_ms = max(into.updated_ms, other.updated_ms)
        del self.store.contacts[other.key]
        self.store.aliases[other.key] = into.key  # its visitors follow lazily

    # --- accounts -------------------------------------------------------------------------------

    def upsert_account(self, e: CrmChange, at: int) -> AccountState:
        account_id = e.account_id or ""
        account = self.store.accounts.get(account_id)
        if account is None:
            account = self.store.accounts[account_id] = AccountState(account_id)
        f = e.fields
        changed = False
        for attr in ACCOUNT_ATTRS:
            value = f.get(attr)
            if value is not None and account.value(attr) != value:
                account.profile[attr] = (value, e.event_id)
                changed = True
        domain = _str(f.get("domain"))
        if domain:
            domain = domain.lower()
            if account.domain and account.domain != domain:
                self.store.domains.pop(account.domain, None)
            account.domain = domain
            self.store.domains[domain] = account_id
        for flag in ("is_customer", "is_competitor"):
            if flag in f and f[flag] is not None:
                value = bool(f[flag])
                if getattr(account, flag) != value:
                    setattr(account, flag, value)
                    account.profile[flag] = (value, e.event_id)
                    changed = True
        account.name = _str(f.get("name")) or account.name
        account.territory = _str(f.get("territory")) or account.territory
        account.owner_id = _str(f.get("owner_id")) or account.owner_id
        if changed:
            account.version += 1
        account.updated_ms = max(account.updated_ms, at)
        return account

    def account_of(self, contact: ContactState) -> AccountState | None:
        """By the CRM's account_id, else by email domain = account domain (never personal)."""
        accounts = self.store.accounts
        if contact.account_id:
            account = accounts.get(contact.account_id)
            if account is not None:
                return account
        domain = contact.email_domain
        if domain is None or domain in self._personal:
            return None
        account_id = self.store.domains.get(domain)
        return accounts.get(account_id) if account_id else None


def _str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
