//! Raw MIME → what Switchboard needs from one inbound email, without touching the database:
//! ids and threading headers, the sender, the text the agent should see (quoted replies and
//! signature stripped) beside the original, attachments as metadata, and what kind of mail it
//! is (a person's mail, an auto-reply, or a delivery status notification). Parsing is done by
//! `mail-parser`; its input is already capped in size by the caller.

use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::domain::AttachmentMeta;

/// Longest original text kept in a message's metadata, in characters.
pub const MAX_ORIGINAL_CHARS: usize = 64 * 1024;

/// What kind of mail arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailKind {
    /// Written by a person: ingest and let the agent answer.
    Personal,
    /// An automatic answer (out of office, autoresponder): stored, never answered.
    AutoReply,
    /// A delivery status notification (RFC 3464): these recipients failed permanently.
    Bounce {
        /// `Final-Recipient` addresses whose `Action` is `failed`.
        failed: Vec<String>,
    },
}

/// One parsed inbound email.
#[derive(Debug, Clone)]
pub struct ParsedMail {
    /// `Message-ID`, with angle brackets, when the mail has one.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids (angle brackets included).
    pub in_reply_to: Vec<String>,
    /// `References` ids, oldest first (angle brackets included).
    pub references: Vec<String>,
    /// Sender address, lower-cased.
    pub from: Option<String>,
    /// Sender display name.
    pub from_name: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// The full text body.
    pub original_text: String,
    /// What the agent sees: the new text only.
    pub text: String,
    /// Attachments, described.
    pub attachments: Vec<AttachmentMeta>,
    /// SHA-256 (hex) over sender, subject and text: tells a redelivery from a different mail
    /// that reuses a Message-ID.
    pub content_hash: String,
    /// Person, auto-reply or bounce.
    pub kind: MailKind,
}

/// Why a body is not a usable email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not MIME at all, or missing what every email has.
    #[error("not a parseable email: {0}")]
    Malformed(&'static str),
}

fn bracket(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .map(|l| {
            l.iter()
                .filter(|s| !s.trim().is_empty())
                .map(|s| bracket(s))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses one email.
pub fn parse(raw: &[u8]) -> Result<ParsedMail, ParseError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::Malformed("no MIME structure"))?;
    if message.headers().is_empty() {
        return Err(ParseError::Malformed("no headers"));
    }
    let from_addr = message.from().and_then(|a| a.first());
    let from = from_addr
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'));
    let kind = classify(&message, raw);
    if from.is_none() && !matches!(kind, MailKind::Bounce { .. }) {
        return Err(ParseError::Malformed("no From address"));
    }
    let original_text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let stripped = strip_reply(&original_text);
    let text = if stripped.trim().is_empty() {
        original_text.trim().to_owned()
    } else {
        stripped
    };
    let subject = message.subject().map(str::to_owned);
    let attachments = message
        .attachments()
        .map(|part| AttachmentMeta {
            kind: "file".into(),
            file_name: part.attachment_name().map(str::to_owned),
            mime_type: part.content_type().map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            }),
            size: i64::try_from(part.len()).ok(),
            external_ref: None,
        })
        .collect();
    let mut hash = Sha256::new();
    hash.update(from.as_deref().unwrap_or_default().as_bytes());
    hash.update([0]);
    hash.update(subject.as_deref().unwrap_or_default().as_bytes());
    hash.update([0]);
    hash.update(original_text.as_bytes());
    Ok(ParsedMail {
        message_id: message.message_id().map(bracket),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        from,
        from_name: from_addr
            .and_then(|a| a.name())
            .map(str::to_owned)
            .filter(|n| !n.trim().is_empty()),
        subject,
        original_text: original_text.chars().take(MAX_ORIGINAL_CHARS).collect(),
        text,
        attachments,
        content_hash: hex::encode(hash.finalize()),
        kind,
    })
}

fn classify(message: &mail_parser::Message<'_>, raw: &[u8]) -> MailKind {
    if let Some(ct) = message.content_type()
        && ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    {
        return MailKind::Bounce {
            failed: failed_recipients(raw),
        };
    }
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let auto_submitted = header("Auto-Submitted").is_some_and(|v| !v.is_empty() && v != "no");
    let flagged = header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || header("X-Auto-Response-Suppress").is_some_and(|v| v.contains("oof") || v == "all")
        || header("Precedence").is_some_and(|v| v == "auto_reply");
    let subject = message.subject().unwrap_or_default().to_ascii_lowercase();
    let out_of_office = [
        "out of office",
        "automatic reply",
        "auto-reply",
        "autoreply",
        "abwesenheit",
    ]
    .iter()
    .any(|p| subject.starts_with(p) || subject.starts_with(&format!("auto: {p}")));
    if auto_submitted || flagged || out_of_office {
        MailKind::AutoReply
    } else {
        MailKind::Personal
    }
}

/// The `Final-Recipient` of every per-recipient block of a delivery-status report whose
/// `Action` is `failed` (a `delayed` or `delivered` report suppresses nothing).
fn failed_recipients(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut failed = Vec::new();
    let mut recipient: Option<String> = None;
    let mut action: Option<String> = None;
    let flush =
        |recipient: &mut Option<String>, action: &mut Option<String>, out: &mut Vec<String>| {
            if let (Some(r), Some(a)) = (recipient.take(), action.take())
                && a == "failed"
                && !out.contains(&r)
            {
                out.push(r);
            }
        };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            flush(&mut recipient, &mut action, &mut failed);
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" => {
                    let addr = value.rsplit(';').next().unwrap_or(value);
                    let addr = addr.trim().trim_start_matches('<').trim_end_matches('>');
                    if addr.contains('@') {
                        recipient = Some(addr.to_lowercase());
                    }
                }
                "action" => action = Some(value.trim().to_ascii_lowercase()),
                _ => {}
            }
        }
    }
    flush(&mut recipient, &mut action, &mut failed);
    failed
}

/// The new part of a reply: everything before the quoted original ("On … wrote:",
/// "-----Original Message-----", an Outlook header block, `>` lines) and before the signature
/// (the RFC 3676 `-- ` delimiter or a "Sent from my …" line).
pub fn strip_reply(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let lower = trimmed.to_ascii_lowercase();
        let wrote = (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || (lower.starts_with("on ")
                && lines
                    .get(i + 1)
                    .is_some_and(|n| n.trim().to_ascii_lowercase().ends_with("wrote:")));
        let outlook = lower.starts_with("-----original message-----")
            || (lower.starts_with("from:")
                && lines
                    .get(i + 1)
                    .is_some_and(|n| n.trim().to_ascii_lowercase().starts_with("sent:")));
        let signature = *line == "-- " || trimmed == "--" || lower.starts_with("sent from my ");
        if wrote || outlook || signature || trimmed.starts_with('>') {
            break;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_replies_and_signatures_are_stripped() {
        let text = "Tuesday works.\n\nBest,\nAnn\n-- \nAnn Customer, CFO\n\nOn Mon, 3 Nov 2026 at 10:00, Acme <sales@acme.test> wrote:\n> Shall we talk?";
        assert_eq!(strip_reply(text), "Tuesday works.\n\nBest,\nAnn");
        let outlook = "Yes please.\n\n-----Original Message-----\nFrom: Acme\nSent: Monday";
        assert_eq!(strip_reply(outlook), "Yes please.");
        let gmail =
            "Sure\n\nOn Mon, Nov 3, 2026 at 10:00 AM Acme Sales\n<sales@acme.test> wrote:\n> hi";
        assert_eq!(strip_reply(gmail), "Sure");
    }

    #[test]
    fn dsn_blocks_yield_only_failed_recipients() {
        let raw = b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; Gone@Example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\nFinal-Recipient: rfc822; slow@example.com\r\nAction: delayed\r\n";
        assert_eq!(failed_recipients(raw), vec!["gone@example.com".to_owned()]);
    }
}
