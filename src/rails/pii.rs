//! PII redaction for logs: message bodies and tool arguments are logged only after email
//! addresses, phone numbers and card-like numbers are replaced by placeholders. Also the
//! shared patterns the output rails use to find addresses in a reply.

use regex::Regex;
use std::sync::LazyLock;

/// An email address.
pub(crate) static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b")
        .unwrap_or_else(|e| panic!("email pattern must compile: {e}"))
});

/// A phone number: an optional `+`, then 7 to 15 digits with spaces, dots, dashes or brackets.
pub(crate) static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b)\d(?:[\s().-]{0,2}\d){6,14}\b")
        .unwrap_or_else(|e| panic!("phone pattern must compile: {e}"))
});

/// 13 to 19 digits, possibly grouped: a payment card number.
static CARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d(?:[ -]?\d){12,18}\b")
        .unwrap_or_else(|e| panic!("card pattern must compile: {e}"))
});

/// The digits of a phone number, for comparing two spellings of it.
pub(crate) fn phone_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// `text` with email addresses, card numbers and phone numbers replaced by `[email]`, `[card]`
/// and `[phone]`. Use it on anything a contact wrote before it goes into a log line.
pub fn redact_pii(text: &str) -> String {
    let text = EMAIL.replace_all(text, "[email]");
    let text = CARD.replace_all(&text, "[card]");
    PHONE.replace_all(&text, "[phone]").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_numbers_are_redacted() {
        let out = redact_pii(
            "Mail jane.doe+x@example.co.uk or call +49 (30) 1234-5678; card 4111 1111 1111 1111.",
        );
        assert_eq!(out, "Mail [email] or call [phone]; card [card].");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        // (Long digit runs such as ISO dates may be redacted as phones: logs err on the safe side.)
        let text = "We have 20 seats, budget 5000 EUR, meeting on Tuesday at 10:30.";
        assert_eq!(redact_pii(text), text);
    }
}
