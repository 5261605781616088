"""The sample's vocabulary: names, countries, messages, and the defects it plants."""

from __future__ import annotations

from datetime import date

REFERENCE_DATE = date(2025, 1, 31)
DEFAULT_SEED = 7
DEFAULT_CUSTOMERS = 3000
FILES = {
    "customers": "customers.csv",
    "orders": "orders.parquet",
    "consent_events": "consent_events.ndjson",
    "support_tickets": "support_tickets.csv.gz",
}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

FIRST_NAMES = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Sophia", "Grace", "Lily", "Freya", "Emily",
    "Noah", "Oliver", "George", "Arthur", "Leo", "Harry", "Oscar", "Jack", "Charlie", "Henry",
    "Lukas", "Emma", "Hannah", "Lea", "Paul", "Ben", "Lina", "Louis", "Chloe", "Camille",
    "Hugo", "Jules", "Sem", "Daan", "Julia", "Tess", "Liam", "Ethan", "Mason", "Harper",
    "Aoife", "Cian", "Saoirse", "Conor", "Priya", "Arjun", "Yusuf", "Fatima", "Wei", "Mei",
]  # fmt: skip
ACCENTED_FIRST_NAMES = ["José", "Zoë", "Chloé", "Léa", "Renée", "Björn", "Siân", "Inès"]
LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Wright", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "de Jong",
    "Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Murphy", "Kelly", "O'Sullivan",
    "Walsh", "O'Brien", "Byrne", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Lee",
    "Nguyen", "Khan", "Ali", "Chen", "Kowalski", "Novak",
]  # fmt: skip
COUNTRIES = ["GB", "DE", "FR", "NL", "US", "IE"]
COUNTRY_WEIGHTS = [0.40, 0.20, 0.15, 0.10, 0.10, 0.05]
COUNTRY_VARIANTS = {
    "GB": ["United Kingdom", "UK", "gb", "Great Britain"],
    "DE": ["Germany", "Deutschland", "de"],
    "FR": ["France", "fr"],
    "NL": ["Netherlands", "Holland", "nl"],
    "US": ["USA", "United States", "us"],
    "IE": ["Ireland", "ie"],
}
COUNTRY_CODES = {"GB": "44", "DE": "49", "FR": "33", "NL": "31", "US": "1", "IE": "353"}
CURRENCY = {"GB": "GBP", "US": "USD", "DE": "EUR", "FR": "EUR", "NL": "EUR", "IE": "EUR"}
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]
MALFORMED_PHONES = ["12345", "+44 12", "call me", "0000", "+1 (212)", "ext. 42"]
TEST_CARDS = [
    "4111111111111111", "4242424242424242", "5555555555554444", "5105105105105100",
    "378282246310005", "6011111111111117", "4000056655665556", "2223003122003222",
]  # fmt: skip
IBAN_BANKS = {"GB": ("NWBK", 6, 8), "DE": ("", 8, 10), "NL": ("ABNA", 0, 10)}
TICKET_CHANNELS = ["email", "phone", "chat", "web"]
TICKET_MESSAGES = [
    "Question about my last order.",
    "The delivery arrived late and the box was damaged.",
    "Please update my delivery preferences.",
    "How do I reset my password?",
    "I would like a refund for a returned item.",
    "The discount code did not work at checkout.",
    "Can you tell me when my parcel will arrive?",
    "I was charged twice for the same order.",
]
NOTES = [
    "Prefers contact by email.",
    "VIP customer since the loyalty launch.",
    "Asked not to receive paper catalogues.",
    "Requested large-print invoices.",
    "Account reviewed by support.",
]
CONSENT_SOURCES = ["web", "app", "call_centre", "email", "store"]

# name: (dataset, column, rate, minimum, description). Counts are max(minimum, round(rate * n)),
# n being customers for customer defects, orders for order defects, tickets for ticket defects.
DEFECTS: dict[str, tuple[str, str, float, int, str]] = {
    "null_email": ("customers", "email", 0.01, 5, "email is missing"),
    "malformed_email": (
        "customers", "email", 0.01, 5,
        "email is not a valid address (no @, two @, no domain, a space, no TLD)",
    ),
    "malformed_phone": (
        "customers", "phone", 0.01, 5, "phone cannot be parsed as a valid number for its country"
    ),
    "duplicate_person": (
        "customers", "email", 0.015, 6,
        "the same person under a second customer_id: same name, date of birth, postcode and "
        "phone (formatted differently); the email differs only in case or surrounding whitespace",
    ),
    "closed_overdue": (
        "customers", "closed_at", 0.02, 6,
        "closed accounts whose 24-month retention after closed_at has passed",
    ),
    "closed_due_30": (
        "customers", "closed_at", 0.005, 3, "closed accounts whose retention ends within 30 days"
    ),
    "closed_due_90": (
        "customers", "closed_at", 0.005, 3,
        "closed accounts whose retention ends in 30 to 90 days",
    ),
    "closed_anchor_missing": (
        "customers", "closed_at", 0.003, 2, "closed accounts with no closed_at date"
    ),
    "inactive_overdue": (
        "customers", "last_activity_at", 0.02, 6,
        "active accounts with no activity for more than 36 months",
    ),
    "inactive_due_30": (
        "customers", "last_activity_at", 0.005, 3,
        "active accounts reaching 36 months without activity within 30 days",
    ),
    "consent_missing": (
        "customers", "marketing_consent", 0.01, 4,
        "marketing flag set with no consent timestamp and no consent event",
    ),
    "consent_withdrawn": (
        "customers", "marketing_consent", 0.01, 4,
        "marketing flag set although the latest marketing consent event is a withdrawal",
    ),
    "consent_stale": (
        "customers", "marketing_consent", 0.01, 4,
        "marketing flag set on a grant older than 24 months",
    ),
    "country_nonstandard": (
        "customers", "country", 0.01, 4, "country written as a name or in lower case"
    ),
    "name_unnormalised": (
        "customers", "first_name", 0.01, 4,
        "first name upper-cased, padded with whitespace, or in Unicode NFD form",
    ),
    "email_in_notes": ("customers", "notes", 0.005, 3, "an email address inside the notes"),
    "lifetime_value_sentinel": (
        "customers", "lifetime_value", 0.005, 3, "lifetime_value is the sentinel string 'N/A'"
    ),
    "orphan_order": (
        "orders", "customer_id", 0.005, 5, "order for a customer_id that does not exist"
    ),
    "future_order": ("orders", "ordered_at", 0.003, 3, "order timestamp after the reference date"),
    "negative_amount": ("orders", "amount", 0.003, 3, "negative order amount"),
    "raw_card_number": (
        "orders", "card", 0.005, 5, "a raw Luhn-valid test card number where policy says masked"
    ),
    "email_in_ticket": ("support_tickets", "message", 0.01, 3, "an email address in the message"),
    "phone_in_ticket": ("support_tickets", "message", 0.01, 3, "a phone number in the message"),
    "iban_in_ticket": ("support_tickets", "message", 0.01, 3, "a valid IBAN in the message"),
}  # fmt: skip
NEAR_MISSES: dict[str, str] = {
    "twins": "pairs with the same last name, date of birth and postcode but another first name, "
    "email and phone: different people",
    "common_name": "pairs with the same first and last name and postcode but another date of "
    "birth, email and phone: different people",
}
NEAR_MISS_RATE, NEAR_MISS_MIN = 0.005, 3
CUSTOMER_POOLS = [
    *(name for name, spec in DEFECTS.items() if spec[0] == "customers"),
    "twins",
    "common_name",
]
MIN_CUSTOMERS = 500
