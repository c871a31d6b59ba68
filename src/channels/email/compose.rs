//! Turns one outbound message into the bytes of an RFC 5322 email: our own `Message-ID`, the
//! thread's `In-Reply-To` / `References`, RFC 8058 unsubscribe headers, a plain-text and an
//! HTML alternative rendered from the same text, and (optionally) a DKIM signature that covers
//! the unsubscribe headers too, so a relay cannot strip or rewrite them unnoticed.

use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::EmailError;

/// Headers a DKIM signature covers (one instance each; an absent one is signed as absent).
pub const DKIM_SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
];
// `Content-Type` is left out on purpose: lettre writes a multipart body's top-level
// Content-Type while formatting the body, after signing, so it cannot be covered.

/// Everything one email needs.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Sender.
    pub from: Mailbox,
    /// Recipient.
    pub to: Mailbox,
    /// Subject line.
    pub subject: String,
    /// Our `Message-ID`, with angle brackets.
    pub message_id: String,
    /// The message this one answers (angle brackets included).
    pub in_reply_to: Option<String>,
    /// The thread so far, oldest first (angle brackets included).
    pub references: Vec<String>,
    /// The text as written.
    pub text: String,
    /// The one-click unsubscribe URL.
    pub unsubscribe_url: Option<String>,
}

/// Builds (and, given a key, DKIM-signs) the email.
pub fn compose(out: &Outgoing, dkim: Option<&DkimConfig>) -> Result<lettre::Message, EmailError> {
    let mut builder = lettre::Message::builder()
        .from(out.from.clone())
        .to(out.to.clone())
        .subject(out.subject.clone())
        .message_id(Some(out.message_id.clone()))
        .date_now();
    if let Some(parent) = &out.in_reply_to {
        builder = builder.in_reply_to(parent.clone());
    }
    if !out.references.is_empty() {
        builder = builder.references(out.references.join(" "));
    }
    if let Some(url) = &out.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(plain_text(&out.text, out.unsubscribe_url.as_deref())),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html(&out.text, out.unsubscribe_url.as_deref())),
        );
    let mut message = builder
        .multipart(body)
        .map_err(|e| EmailError::Compose(e.to_string()))?;
    if let Some(config) = dkim {
        message.sign(config);
    }
    Ok(message)
}

/// The plain-text alternative: the text, then an unsubscribe line.
pub fn plain_text(text: &str, unsubscribe_url: Option<&str>) -> String {
    let mut out = text.trim_end().to_owned();
    if let Some(url) = unsubscribe_url {
        out.push_str("\n\n--\nUnsubscribe: ");
        out.push_str(url);
    }
    out.push('\n');
    out
}

/// The HTML alternative: paragraphs at blank lines, line breaks kept, everything escaped.
pub fn html(text: &str, unsubscribe_url: Option<&str>) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    for paragraph in text.trim().split("\n\n").filter(|p| !p.trim().is_empty()) {
        out.push_str("<p>");
        let lines: Vec<String> = paragraph.trim().lines().map(escape).collect();
        out.push_str(&lines.join("<br>\n"));
        out.push_str("</p>\n");
    }
    if let Some(url) = unsubscribe_url {
        out.push_str(&format!(
            "<p style=\"font-size:small;color:#666\"><a href=\"{}\">Unsubscribe</a></p>\n",
            escape(url)
        ));
    }
    out.push_str("</body></html>\n");
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A DKIM signer for `domain` / `selector` with an RSA key (PKCS#1 PEM), covering
/// [`DKIM_SIGNED_HEADERS`]. A listed header a message lacks is signed as absent, so it cannot be
/// added on the way either. Canonicalisation is relaxed/relaxed, which survives the header
/// refolding and whitespace changes relays commonly make.
pub fn dkim_config(selector: &str, domain: &str, pem: &str) -> Result<DkimConfig, EmailError> {
    let key = DkimSigningKey::new(pem, DkimSigningAlgorithm::Rsa)
        .map_err(|e| EmailError::Settings(format!("DKIM private key: {e}")))?;
    Ok(DkimConfig::new(
        selector.to_owned(),
        domain.to_owned(),
        key,
        DKIM_SIGNED_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_keeps_paragraphs() {
        let out = html(
            "Hi <b>Ann</b> & co\nline two\n\nSecond",
            Some("https://x/u?a=1&b=2"),
        );
        assert!(out.contains("<p>Hi &lt;b&gt;Ann&lt;/b&gt; &amp; co<br>\nline two</p>"));
        assert!(out.contains("<p>Second</p>"));
        assert!(out.contains("href=\"https://x/u?a=1&amp;b=2\""));
    }
}
