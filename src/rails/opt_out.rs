//! Recognising an opt-out reply ("STOP", "unsubscribe", "please remove me"). A contact who
//! opts out is suppressed at once (see `ActionRails::suppress_on_opt_out`); being too eager
//! here costs a lead, being too lax breaks the law, so short replies are matched as a whole
//! and only unambiguous phrases are matched inside longer text.

/// Whole-message replies that mean "stop contacting me" (after normalising).
const WHOLE: &[&str] = &[
    "stop",
    "stop all",
    "stopall",
    "stop please",
    "please stop",
    "unsubscribe",
    "unsubscribe me",
    "please unsubscribe",
    "please unsubscribe me",
    "opt out",
    "optout",
    "cancel",
    "end",
    "quit",
    "remove me",
    "remove",
    "no more",
    "stopp",
    "abmelden",
    "désabonner",
    "baja",
];

/// Phrases that mean opt-out wherever they appear.
const ANYWHERE: &[&str] = &[
    "unsubscribe",
    "opt me out",
    "opt out of",
    "remove me from",
    "take me off",
    "stop emailing me",
    "stop messaging me",
    "stop contacting me",
    "stop writing to me",
    "stop sending me",
    "do not contact me",
    "dont contact me",
    "don't contact me",
    "do not email me",
    "don't email me",
    "dont email me",
    "never contact me",
    "leave me alone",
];

/// Whether a contact's message asks us to stop contacting them.
pub fn is_opt_out(text: &str) -> bool {
    let normal: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' || c == '’' {
                if c == '’' { '\'' } else { c }
            } else {
                ' '
            }
        })
        .collect();
    let normal = normal.split_whitespace().collect::<Vec<_>>().join(" ");
    if WHOLE.contains(&normal.as_str()) {
        return true;
    }
    let padded = format!(" {normal} ");
    ANYWHERE
        .iter()
        .any(|phrase| padded.contains(&format!(" {phrase} ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_out_replies_are_recognised() {
        for text in [
            "STOP",
            "Stop.",
            "unsubscribe",
            "Please unsubscribe me!",
            "Hi, please remove me from your mailing list.",
            "Stop emailing me, thanks",
            "I want to unsubscribe from these messages",
            "Don’t contact me again",
            "Abmelden",
        ] {
            assert!(is_opt_out(text), "{text}");
        }
    }

    #[test]
    fn ordinary_replies_are_not_opt_outs() {
        for text in [
            "Can't stop thinking about your demo!",
            "Where is the nearest bus stop?",
            "Send the contract and we'll end the trial early",
            "Yes, let's talk on Tuesday",
            "",
        ] {
            assert!(!is_opt_out(text), "{text}");
        }
    }
}
